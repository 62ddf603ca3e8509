#!/usr/bin/env node
/**
 * The `gen-cluster` command: asks a running cluster who is in it, as a hidden node. See
 * `gen-cluster --help` and docs/operations.md.
 */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  stdout: text => process.stdout.write(`${text}\n`),
  stderr: line => process.stderr.write(`${line}\n`),
  env: process.env,
  pid: process.pid,
  onSignal: stop => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
  },
});
process.exitCode = code;
// The hidden node has stopped, so the process ends by itself; should a handle linger, it still
// ends (the timer does not keep it alive).
setTimeout(() => process.exit(code), 2_000).unref();
