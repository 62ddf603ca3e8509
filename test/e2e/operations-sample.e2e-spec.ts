import { type SampleNode, startNode, staticNodeEnv, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { parsePrometheus, promtoolCheck } from '../support/prometheus-text.js';
import { until } from '../support/wait.js';

/**
 * The sample's operations endpoints on three real processes with GEN_CLUSTER_MIN_MEMBERS=2:
 * `/health/live` and `/health/ready` (terminus' JSON, 200 or 503) through a cluster forming,
 * a stalled node (SIGSTOP), a crash (kill -9) and a graceful stop (SIGTERM); `/metrics` parsed as
 * Prometheus text and linted by `promtool check metrics` (Debian's `prometheus` package; without
 * it the metrics test fails, naming the install command).
 */

/** terminus' health-check body. */
interface HealthBody {
  readonly status: 'ok' | 'error' | 'shutting_down';
  readonly details: Record<string, { status: 'up' | 'down'; reason?: string; members?: number }>;
}

/** An answer of a health route: the HTTP status and the body, or `undefined` when refused. */
type Probe = { status: number; body: HealthBody } | undefined;

const MIN_MEMBERS = 2;
/** The TCP dist's default failure timeout (heartbeat 1 s, so a window of 4-6 s) plus slack. */
const FAILURE_WINDOW_MS = 6_000 + 3_000;

async function probe(node: SampleNode, check: 'live' | 'ready'): Promise<Probe> {
  try {
    const response = await fetch(`http://127.0.0.1:${node.http}/health/${check}`, {
      signal: AbortSignal.timeout(2_000),
    });
    return { status: response.status, body: (await response.json()) as HealthBody };
  } catch {
    return undefined;
  }
}

/** The value of `name{cluster="default", ...labels}` in `text`. */
function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = parsePrometheus(text).find(f => f.name === name);
  const sample = family?.metrics.find(m =>
    Object.entries({ cluster: 'default', ...labels }).every(([k, v]) => m.labels?.[k] === v),
  );
  return sample?.value === undefined ? undefined : Number(sample.value);
}

/** `gen_cluster_members{cluster="default"}` of `text`. */
const membersGauge = (text: string) => metricValue(text, 'gen_cluster_members');

describe('the sample operations endpoints on three processes (GEN_CLUSTER_MIN_MEMBERS=2)', () => {
  const names = ['a', 'b', 'c'].map(n => `${n}@127.0.0.1`);
  let ports: number[] = [];
  let nodes: SampleNode[] = [];
  const start = (i: number) =>
    startNode(
      { ...staticNodeEnv(names, ports, i), GEN_CLUSTER_MIN_MEMBERS: String(MIN_MEMBERS) },
      { timeoutMs: 30_000 },
    );
  const readyStatus = async (node: SampleNode) => (await probe(node, 'ready'))?.status;
  /** Waits until every node answers ready 200; on a timeout, says what each answered. */
  const allReady = async (timeoutMs: number, what: string) => {
    try {
      await until(
        async () => (await Promise.all(nodes.map(readyStatus))).every(s => s === 200),
        timeoutMs,
        what,
      );
    } catch (error) {
      const seen = await Promise.all(
        nodes.map(async n => {
          const answer = await probe(n, 'ready');
          if (answer) return `${n.name}: ${JSON.stringify(answer)}`;
          const exit =
            n.exitCode === undefined ? 'running' : `exited ${n.exitCode}/${n.exitSignal}`;
          return `${n.name}: no answer (${exit}):\n${n.output.slice(-15).join('\n')}`;
        }),
      );
      throw new Error(`${(error as Error).message}\n${seen.join('\n')}`);
    }
  };

  beforeAll(async () => {
    ports = await Promise.all(names.map(() => freePort()));
  });
  afterAll(stopAll);

  it('is live at once, and ready only once two peers are connected (503 tooFewMembers before)', async () => {
    nodes = await Promise.all([start(0), start(1)]);
    const [a, b] = nodes as [SampleNode, SampleNode];
    for (const node of nodes)
      expect(await probe(node, 'live')).toMatchObject({
        status: 200,
        body: { status: 'ok', details: { cluster: { status: 'up' } } },
      });
    await until(
      async () => (await a.members())?.length === 1 && (await b.members())?.length === 1,
      10_000,
      'a and b connected',
    );
    // One peer of the two needed.
    for (const node of nodes)
      expect(await probe(node, 'ready')).toMatchObject({
        status: 503,
        body: {
          status: 'error',
          details: { cluster: { status: 'down', reason: 'tooFewMembers', members: 1 } },
        },
      });
    nodes.push(await start(2));
    await allReady(15_000, 'all three ready');
    expect(await probe(a, 'ready')).toMatchObject({
      status: 200,
      body: { status: 'ok', details: { cluster: { status: 'up', members: 2 } } },
    });
  });

  it('serves /metrics in the Prometheus text format that promtool accepts, with gen_cluster_members 2', async () => {
    const [a] = nodes as [SampleNode];
    const response = await fetch(`http://127.0.0.1:${a.http}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;\s*version=0\.0\.4/);
    const text = await response.text();
    expect(membersGauge(text)).toBe(2);
    expect(promtoolCheck(text)).toEqual({ code: 0, output: '' });
  });

  it('keeps the others live while a node is stalled (SIGSTOP); their readiness follows the members', async () => {
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    c.signal('SIGSTOP');
    const live: Probe[] = [];
    await until(
      async () => {
        live.push(await probe(a, 'live'), await probe(b, 'live'));
        return (await readyStatus(a)) === 503 && (await readyStatus(b)) === 503;
      },
      FAILURE_WINDOW_MS + 5_000,
      'a and b not ready once c is declared down (heartbeatTimeout)',
      100,
    );
    expect(live.map(p => p?.status).every(s => s === 200)).toBe(true);
    expect((await probe(a, 'ready'))?.body.details.cluster).toMatchObject({
      reason: 'tooFewMembers',
      members: 1,
    });
    c.signal('SIGCONT');
    // The stalled node itself was never dead: it answers live at once when resumed.
    await until(
      async () => (await probe(c, 'live'))?.status === 200,
      5_000,
      `c live again (c exited: ${c.exitCode}/${c.exitSignal}; ${c.output.slice(-10).join('\n')})`,
    );
    await allReady(20_000, 'all three ready again after SIGCONT');
  });

  it('takes the others out of readiness within the failure window when a node is killed (kill -9), live stays 200', async () => {
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    await c.kill();
    const killedAt = performance.now();
    await until(
      async () => (await readyStatus(a)) === 503 && (await readyStatus(b)) === 503,
      FAILURE_WINDOW_MS,
      'a and b not ready after c was killed',
      50,
    );
    expect(performance.now() - killedAt).toBeLessThan(FAILURE_WINDOW_MS);
    for (const survivor of [a, b]) expect((await probe(survivor, 'live'))?.status).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${a.http}/metrics`)).text();
    expect(membersGauge(text)).toBe(1);
    expect(
      metricValue(text, 'gen_cluster_node_down_total', { reason: 'connectionClosed' }),
    ).toBeGreaterThanOrEqual(1);
    nodes[2] = await start(2);
    await allReady(20_000, 'all three ready after c restarted');
  });

  it('is not ready while shutting down (SIGTERM) when that can be seen; the cluster stays alive until exit', async () => {
    const [, b] = nodes as [SampleNode, SampleNode];
    const ready: Probe[] = [];
    const live: Probe[] = [];
    b.signal('SIGTERM');
    while (b.exitCode === undefined) {
      const [r, l] = await Promise.all([probe(b, 'ready'), probe(b, 'live')]);
      ready.push(r);
      live.push(l);
      if (!r && !l) break; // the HTTP server closed
    }
    await b.exited;
    // terminus' HealthCheckService answers every check 503 "shutting_down" from Nest's
    // beforeApplicationShutdown on; otherwise the cluster check says why it is down.
    const shuttingDown = (p: NonNullable<Probe>) => p.body.status === 'shutting_down';
    const answered = ready.filter((p): p is NonNullable<Probe> => p !== undefined);
    const firstDown = answered.findIndex(p => p.status === 503);
    if (firstDown >= 0) {
      // Once down, it never comes back up, and says why.
      for (const p of answered.slice(firstDown)) {
        expect(p.status).toBe(503);
        if (!shuttingDown(p))
          expect(['draining', 'leaving', 'stopped']).toContain(p.body.details.cluster?.reason);
      }
    }
    // The cluster's liveness never goes down during a graceful stop; the HTTP status is 200, or
    // terminus' own 503 "shutting_down" with the cluster check still up.
    for (const p of live.filter((p): p is NonNullable<Probe> => p !== undefined)) {
      expect(p.body.details.cluster?.status).toBe('up');
      if (p.status !== 200) expect([p.status, p.body.status]).toEqual([503, 'shutting_down']);
    }
    expect(b.exitCode === 0 || b.exitSignal === 'SIGTERM').toBe(true);
  });
});
