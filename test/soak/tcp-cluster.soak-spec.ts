import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SampleNode, TEST_COOKIE, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

/**
 * Three processes on 127.0.0.11-13 (static discovery, one shared port, the TCP mesh with its
 * default heartbeat and failure timeout) stay a full mesh for a minute while every node sends
 * `echo` requests to both others without a break (2 in flight per peer). Every second each node
 * must still list exactly the other two; at the end no node has seen a membership change since
 * the mesh formed, and every request sent was answered, with its own payload.
 *
 * `SOAK_DURATION_MS` makes the run longer (or shorter, for trying the test itself).
 */

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'soak-node.mjs');
const DURATION_MS = Number(process.env.SOAK_DURATION_MS ?? 60_000);
/** A request every 100 ms per node is a floor far below what even a loaded machine carries. */
const MIN_ANSWERED_PER_SECOND = 10;

interface Stats {
  sent: number;
  answered: number;
  wrongAnswers: number;
  failed: number;
  inFlight: number;
  errors: string[];
}

async function call<T>(node: SampleNode, method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`, {
    method,
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`${method} ${path} on ${node.name}: ${response.status}`);
  return (await response.json()) as T;
}

describe('a three-process TCP cluster under continuous request traffic', () => {
  const hosts = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
  const names = hosts.map(host => `soak@${host}`);
  let nodes: SampleNode[] = [];

  afterAll(stopAll);

  it(`keeps its membership and answers every request for ${DURATION_MS / 1000} s`, async () => {
    const port = await freeSharedPort(hosts);
    nodes = await Promise.all(
      names.map(name =>
        startNode(
          {
            GEN_CLUSTER_NODE: name,
            GEN_CLUSTER_PORT: String(port),
            GEN_CLUSTER_DISCOVERY: `static:${names.join(',')}`,
            GEN_CLUSTER_COOKIE: TEST_COOKIE,
          },
          30_000,
          script,
        ),
      ),
    );
    const others = (i: number) => names.filter((_, j) => j !== i);
    const views = () => Promise.all(nodes.map(node => node.members()));
    await until(
      async () => (await views()).every((members, i) => sameList(members, others(i))),
      20_000,
      'a full mesh of three',
    );
    const formed = await Promise.all(nodes.map(node => node.changes()));

    await Promise.all(nodes.map(node => call(node, 'POST', '/soak/start')));
    const started = performance.now();
    const flaps: string[] = [];
    while (performance.now() - started < DURATION_MS) {
      for (const [i, members] of (await views()).entries()) {
        if (!sameList(members, others(i)))
          flaps.push(`${names[i]} saw ${JSON.stringify(members)} after ${elapsed(started)} s`);
      }
      await new Promise(resolve => setTimeout(resolve, 1_000));
    }
    const seconds = (performance.now() - started) / 1000;
    const results = await Promise.all(nodes.map(node => call<Stats>(node, 'POST', '/soak/stop')));
    const after = await Promise.all(nodes.map(node => node.changes()));

    expect(flaps).toEqual([]);
    expect(after).toEqual(formed);
    expect(
      results.map(r => ({
        lost: r.sent - r.answered,
        failed: r.failed,
        wrongAnswers: r.wrongAnswers,
        inFlight: r.inFlight,
        errors: r.errors,
      })),
    ).toEqual(names.map(() => ({ lost: 0, failed: 0, wrongAnswers: 0, inFlight: 0, errors: [] })));
    for (const stats of results)
      expect(stats.answered).toBeGreaterThan(MIN_ANSWERED_PER_SECOND * seconds);
    console.log(
      `soak: ${seconds.toFixed(0)} s, requests answered per node: ${results.map(r => r.answered).join(', ')}`,
    );
  });
});

function sameList(actual: readonly string[] | undefined, expected: readonly string[]): boolean {
  return JSON.stringify(actual) === JSON.stringify([...expected].sort());
}

function elapsed(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
