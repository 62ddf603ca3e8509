/**
 * Adversarial scenario 15 of docs/reliability (research §A): a link that toggles up and down every
 * 2 s. Node a reaches node b only through a TCP proxy of this test, which forwards while "up" and,
 * while "down", closes every forwarded connection and every new one at once. Asserted: events per
 * peer strictly alternate up/down on both sides, one nodeUp per up phase and one nodeDown per down
 * phase, and a's dials while the link is down are spaced by the backoff the engine announced.
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { backoffDelay } from '../../src/core/index.js';
import type { ClusterEvent } from '../../src/index.js';
import { startInProcess, stopInProcess, type TestNode } from '../support/in-process.js';
import { until } from '../support/wait.js';

const PHASE_MS = 2_000;
const CYCLES = Number(process.env.FLAP_CYCLES ?? 4);
const BACKOFF = { initialMs: 100, maxMs: 800, multiplier: 2, jitter: 0.2 } as const;

/** A forwarding proxy to `target` that the test switches up and down. */
class FlappingProxy {
  readonly accepts: { at: number; up: boolean }[] = [];
  private up = true;
  private readonly pairs = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly target: number) {
    this.server = createServer(client => {
      client.on('error', () => undefined);
      this.accepts.push({ at: performance.now(), up: this.up });
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port: this.target });
      upstream.on('error', () => undefined);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.pairs.add(from);
        from.pipe(to);
        from.on('close', () => {
          this.pairs.delete(from);
          to.destroy();
        });
      }
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  setUp(up: boolean): void {
    this.up = up;
    if (!up) for (const socket of [...this.pairs]) socket.destroy();
  }

  async close(): Promise<void> {
    this.setUp(false);
    await new Promise(resolve => this.server.close(resolve));
  }
}

/** The membership events a node saw for `peer`, as `up`/`down`. */
const transitions = (node: TestNode, peer: string) =>
  node.events
    .filter(e => (e.type === 'nodeUp' || e.type === 'nodeDown') && e.node === peer)
    .map(e => (e.type === 'nodeUp' ? 'up' : 'down'));

describe('adversarial: a flapping link (scenario 15)', () => {
  let proxy: FlappingProxy | undefined;

  afterEach(async () => {
    await stopInProcess();
    await proxy?.close();
    proxy = undefined;
  });

  it(`alternates up/down on both sides and dials by the backoff over ${CYCLES} cycles of ${PHASE_MS} ms`, async () => {
    const b = await startInProcess('b');
    proxy = new FlappingProxy(b.port);
    const proxyPort = await proxy.listen();
    const a = await startInProcess(
      'a',
      [`b@127.0.0.1:${proxyPort}`],
      {},
      { backoff: BACKOFF, refreshIntervalMs: 200 },
    );
    const failures: { at: number; attempt: number; retryInMs: number | undefined }[] = [];
    a.cluster.events$.subscribe((e: ClusterEvent) => {
      if (e.type === 'connectFailed' && e.node === 'b@127.0.0.1')
        failures.push({ at: performance.now(), attempt: e.attempt, retryInMs: e.retryInMs });
    });
    const ups = (node: TestNode, peer: string) =>
      transitions(node, peer).filter(t => t === 'up').length;
    const downs = (node: TestNode, peer: string) =>
      transitions(node, peer).filter(t => t === 'down').length;

    await until(() => ups(a, 'b@127.0.0.1') === 1, 5_000, 'the first link');
    const downPhases: { from: number; to: number }[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      // up phase: the link holds for PHASE_MS (it came up during the previous down->up switch)
      await new Promise(resolve => setTimeout(resolve, PHASE_MS));
      const from = performance.now();
      proxy.setUp(false);
      await until(
        () => downs(a, 'b@127.0.0.1') === cycle && downs(b, 'a@127.0.0.1') === cycle,
        5_000,
        `nodeDown ${cycle} on both sides`,
      );
      await new Promise(resolve => setTimeout(resolve, PHASE_MS));
      proxy.setUp(true);
      downPhases.push({ from, to: performance.now() });
      await until(
        () => ups(a, 'b@127.0.0.1') === cycle + 1 && ups(b, 'a@127.0.0.1') === cycle + 1,
        5_000,
        `nodeUp ${cycle + 1} on both sides`,
      );
    }

    // events strictly alternate, starting with up, one per phase
    const expected = Array.from({ length: 2 * CYCLES + 1 }, (_, i) => (i % 2 ? 'down' : 'up'));
    expect(transitions(a, 'b@127.0.0.1')).toEqual(expected);
    expect(transitions(b, 'a@127.0.0.1')).toEqual(expected);

    // every announced retry delay is the backoff of its attempt (within the jitter) ...
    for (const f of failures) {
      const nominal = backoffDelay({ ...BACKOFF, jitter: 0 }, f.attempt, () => 0.5);
      expect({ attempt: f.attempt, retryInMs: f.retryInMs }).toEqual({
        attempt: f.attempt,
        retryInMs: expect.any(Number),
      });
      expect(f.retryInMs!).toBeGreaterThanOrEqual(nominal * (1 - BACKOFF.jitter) - 1);
      expect(f.retryInMs!).toBeLessThanOrEqual(nominal * (1 + BACKOFF.jitter) + 1);
    }
    // ... and no dial came before it was due: the dial after a failure comes at least its
    // retryInMs after the dial that failed
    for (const f of failures) {
      const failedDial = [...proxy.accepts].reverse().find(x => x.at <= f.at);
      const nextDial = proxy.accepts.find(x => x.at > f.at);
      if (!failedDial || !nextDial) continue;
      expect({ attempt: f.attempt, gap: nextDial.at - failedDial.at >= f.retryInMs! - 2 }).toEqual({
        attempt: f.attempt,
        gap: true,
      });
    }
    // attempt numbers restart at 1 after each link and go up by one while the link is down
    const inPhase = downPhases.map(p =>
      failures.filter(f => f.at >= p.from && f.at <= p.to + 1_000).map(f => f.attempt),
    );
    for (const attempts of inPhase) {
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts).toEqual(attempts.map((_, i) => i + 1));
    }
    // the dials while down are bounded by the backoff: at most one per step
    for (const p of downPhases) {
      const dials = proxy.accepts.filter(x => !x.up && x.at >= p.from && x.at <= p.to).length;
      let budget = 0;
      for (let t = 0, k = 1; t <= PHASE_MS; k++) {
        budget++;
        t += backoffDelay(BACKOFF, k, () => 0); // the shortest delay jitter allows
      }
      expect(dials).toBeLessThanOrEqual(budget);
    }
  }, 120_000);
});
