/**
 * Issue 16, process groups with real processes: five sample nodes on 127.0.0.1 (static discovery,
 * each with a port of its own that it keeps across a restart), the sample's group routes
 * (`POST /cluster/groups/:group/join|leave|publish`, `GET /cluster/groups/:group`,
 * `GET /cluster/groups/:group/received`). Join on three, a publish from a fourth reaches exactly
 * those three; a member killed with SIGKILL leaves the group in every other node's view; started
 * again under the same name it is not a member until it joins again.
 */
import type { GroupAnswer, GroupReceipt } from '../../sample/app.module.js';
import { type SampleNode, startNode, staticNodeEnv, stopAll } from '../support/nodes.js';
import { portsForRestarts } from '../support/restart-ports.js';
import { http } from '../support/sample-http.js';
import { until } from '../support/wait.js';

const GROUP = 'g';
/** Detection of a killed node on loopback is the connection's close; this is the generous window. */
const DETECTION_WINDOW_MS = 10_000;

describe('process groups across five sample processes', () => {
  const names = ['a', 'b', 'c', 'd', 'e'].map(part => `${part}-${process.pid}@127.0.0.1`);
  const [A, B, C, D, E] = names as [string, string, string, string, string];
  const nodes = new Map<string, SampleNode>();
  let ports: number[] = [];
  const figures: Record<string, number> = {};

  const start = async (name: string) => {
    const i = names.indexOf(name);
    const node = await startNode(staticNodeEnv(names, ports, i), { timeoutMs: 60_000 });
    nodes.set(name, node);
    return node;
  };
  const node = (name: string) => nodes.get(name)!;
  /** `name`'s view of the group's members, or `undefined` while it does not answer. */
  const membersSeenBy = async (name: string): Promise<string[] | undefined> => {
    try {
      const answer = await http<GroupAnswer>(node(name), 'GET', `/cluster/groups/${GROUP}`);
      return answer.status === 200 ? answer.body.members : undefined;
    } catch {
      return undefined;
    }
  };
  /** Every node of `among` sees exactly `expected` (sorted) in the group. */
  const allSee = async (among: readonly string[], expected: readonly string[]) =>
    (await Promise.all(among.map(membersSeenBy))).every(
      seen => JSON.stringify(seen) === JSON.stringify([...expected].sort()),
    );
  /** The messages `name` received for the group whose body's marker starts with `marker`. */
  const receivedBy = async (name: string, marker: string): Promise<GroupReceipt[]> => {
    const answer = await http<GroupReceipt[]>(
      node(name),
      'GET',
      `/cluster/groups/${GROUP}/received`,
    );
    expect(answer.status).toBe(200);
    return answer.body.filter(receipt =>
      String((receipt.body as { marker?: unknown })?.marker).startsWith(marker),
    );
  };
  const join = async (name: string) =>
    expect((await http(node(name), 'POST', `/cluster/groups/${GROUP}/join`)).status).toBe(201);
  const publish = async (name: string, marker: string) => {
    const answer = await http<{ sentTo: string[]; failed: unknown[] }>(
      node(name),
      'POST',
      `/cluster/groups/${GROUP}/publish`,
      { marker },
    );
    expect(answer.status).toBe(201);
    return answer.body;
  };

  beforeAll(async () => {
    ports = await portsForRestarts(names.length);
    await Promise.all(names.map(start));
    await until(
      async () =>
        (await Promise.all(names.map(n => node(n).members()))).every(m => m?.length === 4),
      30_000,
      'a full mesh of five',
    );
  }, 120_000);
  afterAll(async () => {
    await stopAll();
    console.log(`groups figures (ms): ${JSON.stringify(figures)}`);
  });

  it('a publish from a non-member reaches exactly the three members, once each', async () => {
    await Promise.all([A, B, C].map(join));
    await until(() => allSee(names, [A, B, C]), 10_000, 'every node to see a, b and c in g');
    const published = await publish(D, 'from-d-1');
    expect(published).toEqual({ sentTo: [A, B, C].sort(), failed: [] });
    await until(
      async () =>
        (await Promise.all([A, B, C].map(n => receivedBy(n, 'from-d-1')))).every(
          got => got.length >= 1,
        ),
      10_000,
      'a, b and c to receive the message',
    );
    for (const member of [A, B, C]) expect(await receivedBy(member, 'from-d-1')).toHaveLength(1);
    for (const other of [D, E]) expect(await receivedBy(other, 'from-d-1')).toEqual([]);
  });

  it('a member publishing reaches itself and the two others', async () => {
    expect(await publish(A, 'from-a-1')).toEqual({ sentTo: [A, B, C].sort(), failed: [] });
    await until(
      async () =>
        (await Promise.all([A, B, C].map(n => receivedBy(n, 'from-a-1')))).every(
          got => got.length === 1,
        ),
      10_000,
      'a, b and c to receive the message once each',
    );
    for (const other of [D, E]) expect(await receivedBy(other, 'from-a-1')).toEqual([]);
  });

  it('a member killed with SIGKILL leaves the group in every other view; restarted, it is out until it joins again', async () => {
    const killedAt = performance.now();
    await node(C).kill();
    const others = [A, B, D, E];
    await until(
      () => allSee(others, [A, B]),
      DETECTION_WINDOW_MS,
      'every other node to drop c from g',
      20,
    );
    figures.killToLeftEverywhere = Math.round(performance.now() - killedAt);
    // A publish now goes to the two that are left.
    expect(await publish(E, 'from-e-1')).toEqual({ sentTo: [A, B].sort(), failed: [] });

    await start(C);
    await until(
      async () =>
        (await Promise.all(names.map(n => node(n).members()))).every(m => m?.length === 4),
      30_000,
      'the five to mesh again',
    );
    // c's own view holds a and b (it learned the others' entries), and it is in nobody's view.
    await until(() => allSee(names, [A, B]), 10_000, 'every node, c included, to see a and b only');
    expect(await receivedBy(C, 'from-')).toEqual([]);
    await join(C);
    await until(() => allSee(names, [A, B, C]), 10_000, 'every node to see c in g again');
    expect(await publish(D, 'from-d-2')).toEqual({ sentTo: [A, B, C].sort(), failed: [] });
    await until(
      async () =>
        (await Promise.all([A, B, C].map(n => receivedBy(n, 'from-d-2')))).every(
          got => got.length === 1,
        ),
      10_000,
      'a, b and the restarted c to receive the message',
    );
  }, 90_000);
});
