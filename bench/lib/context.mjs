// What every section of the benchmark is given: the run's options and configuration, the samples
// it adds its measurements to, a progress line writer and the grace period for stopping
// children. One context per run; the sections keep no state of their own between runs.
import { Samples } from './records.mjs';

/**
 * @typedef {object} BenchContext
 * @property {import('./options.mjs').BenchOptions} options
 * @property {import('./options.mjs').BenchOptions['config']} config
 * @property {Samples} samples
 * @property {Samples['add']} sample adds one value to a series (see Samples.add)
 * @property {(line: string) => void} progress writes a line to stderr, after the elapsed time
 * @property {() => number} elapsedS seconds since the run started
 * @property {(ms: number) => number} grace how long a child may take to stop: `ms`, or longer
 *   with --cpu-prof so that the profile gets written
 */

/** @returns {BenchContext} */
export function createContext(options) {
  const startedAt = performance.now();
  const elapsedS = () => (performance.now() - startedAt) / 1000;
  const samples = new Samples();
  return {
    options,
    config: options.config,
    samples,
    sample: (...args) => samples.add(...args),
    progress: line => process.stderr.write(`${elapsedS().toFixed(0).padStart(4)}s  ${line}\n`),
    elapsedS,
    grace: ms => (options.cpuProf ? 8_000 : ms),
  };
}
