/**
 * `call` on real parts: four GenClusters on an InMemoryNetwork, each with the real Messaging
 * (through DeferredMessaging), its ServiceRegistry and a ServiceCaller. a, b and c serve `echo`;
 * d serves nothing and calls.
 */
import { type ClusterMessaging, type GenCluster, type GenClusterError } from '../../core/index.js';
import { InMemoryNetwork } from '../../testing/index.js';
import { inMemoryEngine } from '../../../test/support/engine-harness.js';
import { until } from '../../../test/support/wait.js';
import { NoServerError } from '../primitives.errors.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { rank } from './rendezvous.js';
import { ServiceCaller } from './service-caller.js';

const A = 'a@test';
const B = 'b@test';
const C = 'c@test';
const D = 'd@test';
const SERVERS = [A, B, C];
const TOPIC = 'echo';

interface TestNode {
  readonly name: string;
  readonly cluster: GenCluster;
  readonly messaging: ClusterMessaging;
  readonly registry: ServiceRegistry;
  readonly caller: ServiceCaller;
  /** Removes the node's `echo` handler. */
  off?: () => void;
  /** When set, `echo` waits for it before answering. */
  hold?: Promise<void>;
}

interface Echo {
  readonly servedBy: string;
  readonly payload: unknown;
}

function servedBy(answers: readonly Echo[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { servedBy: node } of answers) counts[node] = (counts[node] ?? 0) + 1;
  return counts;
}

describe('ServiceCaller on an in-memory cluster', () => {
  let network: InMemoryNetwork;
  let nodes: Map<string, TestNode>;

  const node = (name: string): TestNode => nodes.get(name)!;
  const caller = (): ServiceCaller => node(D).caller;

  beforeEach(async () => {
    network = new InMemoryNetwork();
    nodes = new Map();
    for (const name of [A, B, C, D]) {
      const { cluster, dist } = inMemoryEngine(network, name, 100);
      const messaging = dist.messaging;
      const registry = new ServiceRegistry({ cluster, messaging });
      const entry: TestNode = {
        name,
        cluster,
        messaging,
        registry,
        caller: new ServiceCaller(registry, messaging),
      };
      if (SERVERS.includes(name)) {
        entry.off = messaging.on<unknown>(TOPIC, async payload => {
          await entry.hold;
          return { servedBy: name, payload };
        });
      }
      nodes.set(name, entry);
    }
    for (const entry of nodes.values()) await entry.cluster.start();
    await until(() => node(D).registry.servers(TOPIC).length === 3, 10_000);
  });

  afterEach(async () => {
    for (const entry of nodes.values()) {
      entry.registry.close();
      await entry.cluster.stop();
    }
  });

  it('spreads 300 calls over 3 servers within 1 (round-robin)', async () => {
    const answers: Echo[] = [];
    for (let i = 0; i < 300; i++) answers.push(await caller().call<Echo>(TOPIC, i));
    expect(servedBy(answers)).toEqual({ [A]: 100, [B]: 100, [C]: 100 });
    // With 30 in flight at a time too.
    const batch = await Promise.all(
      Array.from({ length: 300 }, (_, i) => caller().call<Echo>(TOPIC, i)),
    );
    const counts = Object.values(servedBy(batch));
    expect(counts).toHaveLength(3);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('sends a key to the same node every time, the owner every node computes', async () => {
    for (let k = 0; k < 60; k++) {
      const key = `tenant-${k}`;
      const owner = rank(key, SERVERS)[0];
      for (let i = 0; i < 3; i++) {
        const answer = await caller().call<Echo>(TOPIC, i, { select: { key } });
        expect(answer.servedBy).toBe(owner);
      }
      for (const name of [A, B, C, D])
        expect(node(name).registry.ownerOf(key, { topic: TOPIC })).toBe(owner);
    }
  });

  it("'local-first' answers from this node when it serves the topic, else in turn", async () => {
    for (const name of SERVERS) {
      const answer = await node(name).caller.call<Echo>(TOPIC, 1, { select: 'local-first' });
      expect(answer.servedBy).toBe(name);
    }
    const answers: Echo[] = [];
    for (let i = 0; i < 30; i++)
      answers.push(await caller().call<Echo>(TOPIC, i, { select: 'local-first' }));
    expect(servedBy(answers)).toEqual({ [A]: 10, [B]: 10, [C]: 10 });
  });

  it('rejects with ERR_NO_SERVER when nobody serves the topic', async () => {
    const error = await caller()
      .call('nothing', 1)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoServerError);
    expect(error).toMatchObject({ code: 'ERR_NO_SERVER', topic: 'nothing' });
  });

  it('retries on another server a call pending on a node that went down', async () => {
    let release!: () => void;
    node(C).hold = new Promise<void>(resolve => (release = resolve));
    const calls = Array.from({ length: 6 }, (_, i) =>
      caller().call<Echo>(TOPIC, i, { retries: 1 }),
    );
    await until(() => (node(D).messaging.pendingTo?.(C) ?? 0) === 2, 5_000);
    network.partition(D, C);
    const answers = await Promise.all(calls);
    expect(servedBy(answers)[C]).toBeUndefined();
    expect(answers).toHaveLength(6);
    expect(node(D).registry.servers(TOPIC)).toEqual([A, B]);
    release();
  });

  it('fails a call pending on a node that went down with ERR_NODE_DOWN without retries', async () => {
    let release!: () => void;
    node(C).hold = new Promise<void>(resolve => (release = resolve));
    const calls = Array.from({ length: 3 }, (_, i) =>
      caller()
        .call<Echo>(TOPIC, i)
        .catch((e: unknown) => e),
    );
    await until(() => (node(D).messaging.pendingTo?.(C) ?? 0) === 1, 5_000);
    network.partition(D, C);
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter(o => o instanceof Error).map(o => (o as GenClusterError).code)).toEqual([
      'ERR_NODE_DOWN',
    ]);
    release();
  });

  it('retries a stale entry (ERR_NO_HANDLER) on the next node in rank, whatever retries says', async () => {
    const key = Array.from({ length: 100 }, (_, i) => `k${i}`).find(
      k => rank(k, SERVERS)[0] === C,
    )!;
    node(C).off!();
    // Same turn: d has not heard of the withdrawal yet, so its request reaches c first.
    const answer = await caller().call<Echo>(TOPIC, 1, { select: { key } });
    expect(answer.servedBy).toBe(rank(key, SERVERS)[1]);
    await until(() => !node(D).registry.servers(TOPIC).includes(C), 5_000);
  });
});
