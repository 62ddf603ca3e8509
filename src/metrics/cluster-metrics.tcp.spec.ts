/**
 * ClusterMetrics over real TCP dists in this process (loopback): the engine's health and events,
 * the messaging layer's counters and hook, and the dist's links and refusals, as they really are.
 */
import { Registry } from 'prom-client';
import { type TestNode, startInProcess, stopInProcess } from '../../test/support/in-process.js';
import { until } from '../../test/support/wait.js';
import { ClusterMetrics, METRIC_NAMES } from './index.js';

const B = 'b@127.0.0.1';

/** The value of the series `name{labels}` in the text format (labels in any order). */
function read(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const have = line.slice(name.length + 1, close);
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) {
      return Number(line.slice(close + 1));
    }
  }
  return undefined;
}

describe('ClusterMetrics on real TCP nodes', () => {
  let a: TestNode;
  let b: TestNode;
  let registry: Registry;
  let metrics: ClusterMetrics;

  beforeAll(async () => {
    b = await startInProcess('b');
    b.dist.messaging.on('echo', (payload: unknown) => payload);
    b.dist.messaging.on('fail', () => {
      throw new Error('refused by the handler');
    });
    a = await startInProcess('a', [`${B}:${b.port}`]);
    registry = new Registry();
    metrics = ClusterMetrics.attach(
      { cluster: 'default', engine: a.cluster, messaging: a.dist.messaging, dist: a.dist },
      { registry },
    );
    await until(() => a.cluster.nodes().includes(B), 10_000, 'a to connect to b');
  });

  afterAll(async () => {
    metrics.close();
    await stopInProcess();
  });

  it('counts requests by outcome, times them per topic, and reads members and links', async () => {
    const before = await registry.metrics();
    for (let i = 0; i < 3; i++) await a.dist.messaging.request(B, 'echo', i);
    await expect(a.dist.messaging.request(B, 'fail', 0)).rejects.toThrow();
    const text = await registry.metrics();
    const d = { cluster: 'default' };
    const grew = (name: string, labels: Record<string, string>) =>
      read(text, name, labels)! - (read(before, name, labels) ?? 0);
    expect(read(text, METRIC_NAMES.members, d)).toBe(1);
    expect(read(text, METRIC_NAMES.discoveredNodes, d)).toBe(1);
    expect(grew(METRIC_NAMES.requests, { ...d, outcome: 'ok' })).toBe(3);
    expect(grew(METRIC_NAMES.requests, { ...d, outcome: 'remote_error' })).toBe(1);
    expect(read(text, `${METRIC_NAMES.requestDuration}_count`, { ...d, topic: 'echo' })).toBe(3);
    expect(read(text, `${METRIC_NAMES.requestDuration}_count`, { ...d, topic: 'fail' })).toBe(1);
    expect(grew(METRIC_NAMES.messagesSent, d)).toBeGreaterThanOrEqual(4);
    expect(grew(METRIC_NAMES.receivedBytes, d)).toBeGreaterThan(0);
    expect(read(text, METRIC_NAMES.requestsInFlight, d)).toBe(0);
    expect(read(text, METRIC_NAMES.sendQueueBytes, { ...d, peer: B })).toBe(0);
  });

  it("counts a wrong cookie's handshake as a refusal on the node dialled", async () => {
    await startInProcess('x', [`a@127.0.0.1:${a.port}`], { cookie: 'another-cookie' });
    const refusals = async () =>
      read(await registry.metrics(), METRIC_NAMES.handshakeRefusals, {
        cluster: 'default',
        reason: 'bad-cookie',
      }) ?? 0;
    await until(async () => (await refusals()) >= 1, 10_000, "a's bad-cookie refusal");
  });

  it('counts b going away by reason and drops its send-queue series', async () => {
    await b.cluster.stop();
    await until(() => !a.cluster.nodes().includes(B), 10_000, 'a to see b leave');
    // the counter is read through a scrape: wait for it rather than for the next tick's luck
    const left = async () =>
      read(await registry.metrics(), METRIC_NAMES.nodeDown, { cluster: 'default', reason: 'left' });
    await until(async () => ((await left()) ?? 0) >= 1, 10_000, "a's nodeDown{reason=left}");
    const text = await registry.metrics();
    expect(read(text, METRIC_NAMES.nodeDown, { cluster: 'default', reason: 'left' })).toBe(1);
    expect(read(text, METRIC_NAMES.members, { cluster: 'default' })).toBe(0);
    expect(
      read(text, METRIC_NAMES.sendQueueBytes, { cluster: 'default', peer: B }),
    ).toBeUndefined();
  });
});
