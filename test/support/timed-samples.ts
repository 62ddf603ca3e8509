import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SampleNode, TEST_COOKIE } from './nodes.js';
import { until } from './wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The sample app with the cluster options of `SAMPLE_TEST_OPTIONS` (test/support/timed-sample.mjs). */
const TIMED_SAMPLE = join(root, 'test', 'support', 'timed-sample.mjs');

/** One output line of a process, with the test's clock when it arrived. */
export interface TimedLine {
  readonly text: string;
  /** `performance.now()` of the test process when the line arrived. */
  readonly at: number;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
/** Older lines are dropped beyond this many per process (a chatty node cannot grow without bound). */
const MAX_LINES = 20_000;

/**
 * A sample process whose every output line is kept with its arrival time, from the spawn on (so
 * that lines printed before the ready line, or in the same chunk as it, are not missed). Times are
 * the test's clock: lines of several processes on this machine compare.
 */
export class TimedSample extends SampleNode {
  readonly lines: TimedLine[] = [];

  /** Lines matching `pattern` that arrived at or after `since`, each with its match. */
  matches(pattern: RegExp, since = 0): { line: TimedLine; match: RegExpExecArray }[] {
    const found: { line: TimedLine; match: RegExpExecArray }[] = [];
    for (const line of this.lines) {
      if (line.at < since) continue;
      const match = pattern.exec(line.text);
      if (match) found.push({ line, match });
    }
    return found;
  }
}

/**
 * Starts the timed sample (`test/support/timed-sample.mjs`, after `npm run build`) with `env` on
 * top of the test cookie and `NO_COLOR`, and waits (30 s at most) for its ready line.
 */
export async function startTimedSample(env: Record<string, string>): Promise<TimedSample> {
  if (!existsSync(join(root, 'dist', 'sample', 'app.module.js')))
    throw new Error(
      'dist/sample is missing: run "npm run build" first (npm test does it for you).',
    );
  const child = spawn(process.execPath, [TIMED_SAMPLE], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NO_COLOR: '1',
      GEN_CLUSTER_COOKIE: TEST_COOKIE,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node = new TimedSample(env.GEN_CLUSTER_NODE ?? `pid-${child.pid}`, child);
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const at = performance.now();
      partial += chunk.toString('utf8');
      let newline: number;
      while ((newline = partial.indexOf('\n')) >= 0) {
        node.lines.push({ text: partial.slice(0, newline).replace(ANSI, ''), at });
        partial = partial.slice(newline + 1);
      }
      if (node.lines.length > MAX_LINES) node.lines.splice(0, node.lines.length - MAX_LINES);
    });
  }
  const ready = /SAMPLE_READY (\{.*\})/;
  await until(
    () => {
      if (node.exitCode !== undefined)
        throw new Error(
          `${node.name} exited with ${node.exitCode} before it was ready:\n${node.output.join('\n')}`,
        );
      return node.matches(ready).length > 0;
    },
    30_000,
    `${node.name} to print its ready line`,
  );
  node.http = (JSON.parse(node.matches(ready)[0]!.match[1]!) as { http: number }).http;
  return node;
}
