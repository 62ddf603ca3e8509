/**
 * Jest runs TypeScript as ESM (NestJS 12 is ESM-only); see docs/decisions.md.
 *
 * Two projects, run together by `npm test`, alone with `--selectProjects`:
 * - `unit`: the `*.spec.ts` files beside the code in `src`, in this process only: no child
 *   processes, no system packages (`npm run test:unit`).
 * - `e2e`: `test/e2e/*.e2e-spec.ts`, with real processes, sockets and servers; they need
 *   `npm run build` first (`npm run test:e2e` does it).
 * The long runs (`test/soak`) have their own configuration, jest.soak.config.js, so that a bare
 * `npx jest` never starts them.
 */

/** What every project shares: ts-jest in ESM mode and the reflect-metadata setup. */
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  setupFiles: ['<rootDir>/test/support/setup.ts'],
};

/**
 * One Jest project named `displayName`: the files matching `testMatch` below `root`.
 * @param {string} displayName
 * @param {string} root
 * @param {string} testMatch
 */
export function project(displayName, root, testMatch) {
  return { ...shared, displayName, roots: [`<rootDir>/${root}`], testMatch: [`**/${testMatch}`] };
}

/** Options that Jest takes for the whole run only, never per project. */
export const runOptions = {
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};

export default {
  ...runOptions,
  // Two suites at once even on two cores (Jest's default there is one): the e2e suites mostly wait
  // on timers, sockets and child processes, and their windows are sized for a loaded machine.
  maxWorkers: 2,
  projects: [project('unit', 'src', '*.spec.ts'), project('e2e', 'test/e2e', '*.e2e-spec.ts')],
};
