#!/usr/bin/env node
// The `gen-cluster` command: filled in by issue 15.
export {};
