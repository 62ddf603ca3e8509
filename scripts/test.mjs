#!/usr/bin/env node
// `npm test`: provisions what the suite needs, builds the library and the sample app (the
// multi-process tests run dist/sample/main.js), then runs Jest with this script's arguments: the
// unit and e2e projects of jest.config.js by default; `npm run test:e2e` passes
// `--selectProjects e2e`, `npm run test:soak` passes `--config jest.soak.config.js`.
import { spawnSync } from 'node:child_process';
import { ensureSystemPackages } from './system-packages.mjs';

ensureSystemPackages();
const run = (command, args, env = {}) => {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run('npm', ['run', '--silent', 'build']);
run(process.execPath, ['node_modules/jest/bin/jest.js', ...process.argv.slice(2)], {
  NODE_OPTIONS:
    `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim(),
});
