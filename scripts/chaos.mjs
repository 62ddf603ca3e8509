#!/usr/bin/env node
// `npm run chaos`: the chaos soak's long mode on its own, with a live report on stderr and a
// summary at the end (also written as JSON to bench/results/chaos-latest.json, or CHAOS_REPORT).
// 10 minutes of faults unless CHAOS_DURATION_MS says otherwise; CHAOS_SEED repeats a fault
// schedule. It builds the library and runs test/soak/chaos.soak-spec.ts (needs root: network
// namespaces and iptables).
import { spawnSync } from 'node:child_process';

const env = {
  ...process.env,
  CHAOS_LIVE: '1',
  CHAOS_DURATION_MS: process.env.CHAOS_DURATION_MS || '600000',
};
const result = spawnSync(
  'node',
  ['scripts/test.mjs', '--config', 'jest.soak.config.js', 'test/soak/chaos.soak-spec.ts'],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
