/**
 * The soak project (`npm run test:soak`): long runs of real processes under load, in
 * `test/soak/*.soak-spec.ts`. Apart from `npm test` because each one runs for minutes.
 */
import { project, runOptions } from './jest.config.js';

export default {
  ...runOptions,
  // A soak test runs for a fixed time by design; this bounds it plus its set-up and checks.
  testTimeout: 300_000,
  projects: [project('soak', 'test/soak', '*.soak-spec.ts')],
};
