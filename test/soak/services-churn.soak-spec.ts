import type { LoadReport } from '../fixtures/apps/services/call-load.js';
import {
  type SampleNode,
  fixtureAppMain,
  startNode,
  staticNodeEnv,
  stopAll,
} from '../support/nodes.js';
import { portsForRestarts } from '../support/restart-ports.js';
import { until } from '../support/wait.js';

/**
 * Six processes of the services fixture app (the sample plus probe routes) on 127.0.0.1, static
 * discovery: two callers and four servers of `slow` (answers after 10 ms). Both callers `call`
 * `slow` without a break (10 in flight each, `retries: 2`) while the servers are stopped at random
 * with SIGTERM (drain, then leave) or SIGKILL, and started again under the same name and port.
 * At least one server always runs, so no call may fail: a failure other than `ERR_NO_SERVER`
 * breaks the rule outright, and `ERR_NO_SERVER` is impossible with a server up. After every churn
 * round comes a quiet period (every server up again, listed by both callers), and all six views of
 * `GET /cluster/servers/slow` must agree within 2 s.
 *
 * `SOAK_DURATION_MS` sets the churn time (default 150 s, so the suite stays under 4 minutes).
 */

const CHURN_MS = Number(process.env.SOAK_DURATION_MS ?? 150_000);
/** A churn round, then a quiet period. */
const ROUND_MS = 20_000;
const CONVERGE_MS = 2_000;
const TOPIC = 'slow';

async function http<T>(node: SampleNode, method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status}`);
  return (await response.json()) as T;
}

const loadOf = (node: SampleNode) => http<LoadReport>(node, 'GET', '/probe/load');
const serversOf = async (node: SampleNode) =>
  (await http<{ servers: string[] }>(node, 'GET', `/cluster/servers/${TOPIC}`)).servers;
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('services under churn: six processes, servers stopped and killed at random under call load', () => {
  const pid = process.pid;
  const callers = ['x', 'y'].map(part => `caller-${part}-${pid}@127.0.0.1`);
  const servers = ['1', '2', '3', '4'].map(part => `server-${part}-${pid}@127.0.0.1`);
  const env: Record<string, Record<string, string>> = {};
  const nodes = new Map<string, SampleNode>();
  const actions: string[] = [];

  const start = async (name: string) => {
    nodes.set(
      name,
      await startNode(env[name]!, { main: fixtureAppMain('services'), timeoutMs: 30_000 }),
    );
  };
  const up = () => servers.filter(name => nodes.get(name)?.exitCode === undefined);
  const down = () => servers.filter(name => nodes.get(name)?.exitCode !== undefined);
  const listedByCallers = async (expected: readonly string[]) =>
    (await Promise.all(callers.map(name => serversOf(nodes.get(name)!)))).every(
      view => JSON.stringify(view) === JSON.stringify(expected),
    );

  afterAll(stopAll);

  it(`keeps every call answered and the views converging for ${CHURN_MS / 1000} s of churn`, async () => {
    const names = [...callers, ...servers];
    const ports = await portsForRestarts(names.length);
    names.forEach((name, i) => {
      env[name] = {
        ...staticNodeEnv(names, ports, i),
        ...(servers.includes(name) ? { PROBE_SERVES: TOPIC } : {}),
      };
    });
    await Promise.all(names.map(start));
    await until(() => listedByCallers(servers), 30_000, 'both callers to list the four servers');

    // Each load answers its POST only when stopped, possibly minutes later: its counters are read
    // with GET /probe/load instead, and the POST's own outcome is not awaited.
    for (const name of callers)
      void http(nodes.get(name)!, 'POST', '/probe/load', {
        topic: TOPIC,
        ms: 10,
        concurrency: 10,
        retries: 2,
        timeoutMs: 10_000,
      }).catch(() => undefined);
    const loadsRunning = async (running: boolean) =>
      (await Promise.all(callers.map(name => loadOf(nodes.get(name)!)))).every(
        report => report.running === running,
      );
    await until(() => loadsRunning(true), 10_000, 'both loads to start');
    const began = performance.now();
    const convergence: number[] = [];
    while (performance.now() - began < CHURN_MS) {
      const roundEnd = Math.min(performance.now() + ROUND_MS, began + CHURN_MS);
      while (performance.now() < roundEnd) {
        const running = up();
        const stopped = down();
        if (stopped.length > 0 && (running.length === 1 || Math.random() < 0.4)) {
          const name = pick(stopped);
          actions.push(`restart ${name}`);
          await start(name);
          await until(() => listedByCallers(up()), 15_000, `${name} listed again by both callers`);
        } else if (running.length > 1) {
          const name = pick(running);
          const node = nodes.get(name)!;
          if (Math.random() < 0.5) {
            actions.push(`SIGTERM ${name}`);
            await node.stop(15_000);
            expect(node.exitSignal).not.toBe('SIGKILL');
          } else {
            actions.push(`SIGKILL ${name}`);
            await node.kill();
          }
        }
        await pause(100 + Math.random() * 900);
      }
      // Quiet period: every server back, then all six views agree within CONVERGE_MS.
      for (const name of down()) {
        actions.push(`restart ${name}`);
        await start(name);
      }
      const quiet = performance.now();
      await until(
        async () =>
          (await Promise.all(names.map(name => serversOf(nodes.get(name)!)))).every(
            view => JSON.stringify(view) === JSON.stringify(servers),
          ),
        CONVERGE_MS + 15_000,
        'all six views to agree',
      );
      convergence.push(performance.now() - quiet);
    }

    await Promise.all(callers.map(name => http(nodes.get(name)!, 'POST', '/probe/load/stop')));
    await until(() => loadsRunning(false), 30_000, 'both loads to settle their calls in flight');
    const reports = await Promise.all(callers.map(name => loadOf(nodes.get(name)!)));
    console.log(
      `services churn: ${actions.length} actions (${actions.filter(a => a.startsWith('SIGKILL')).length} SIGKILL, ` +
        `${actions.filter(a => a.startsWith('SIGTERM')).length} SIGTERM); calls answered ` +
        `${reports.map(r => r.ok).join(' + ')}; views converged in ` +
        `${convergence.map(ms => Math.round(ms)).join(', ')} ms`,
    );
    for (const report of reports) {
      expect(report.errors).toEqual([]);
      expect(report.failed).toBe(0);
      expect(report.ok).toBeGreaterThan(1_000);
    }
    expect(actions.filter(a => a.startsWith('SIGKILL')).length).toBeGreaterThan(0);
    expect(actions.filter(a => a.startsWith('SIGTERM')).length).toBeGreaterThan(0);
    // Each quiet period converged in time (measured from the last start's ready line).
    for (const ms of convergence) expect(ms).toBeLessThanOrEqual(CONVERGE_MS);
  });
});
