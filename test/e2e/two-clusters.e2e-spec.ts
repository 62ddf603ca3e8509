import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SampleNode, TEST_COOKIE, startNode, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const fixture = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'two-clusters-node.mjs',
);

type View = { self: string; members: string[] };
type Views = { blue: View; green: View };

const get = async <T>(node: SampleNode, path: string): Promise<T | undefined> => {
  try {
    return (await (await fetch(`http://127.0.0.1:${node.http}${path}`)).json()) as T;
  } catch {
    return undefined;
  }
};

/**
 * Two clusters in one process, both real TCP meshes at once: two processes, each a Nest app with
 * `GenClusterModule.forRoot({ name: 'blue' })` and `forRoot({ name: 'green' })`, on their own
 * ports and node names, with one cookie. Each cluster's members and messages stay its own.
 */
describe('two named clusters in one process form two TCP clusters at once', () => {
  afterEach(stopAll);

  it('blue members see only blue, green only green, and requests work on both', async () => {
    const ports = await Promise.all([1, 2, 3, 4].map(() => freePort()));
    const [blue1, blue2, green1, green2] = ['blue-1', 'blue-2', 'green-1', 'green-2'].map(
      (name, i) => ({ node: `${name}@127.0.0.1`, port: ports[i]! }),
    );
    const peers = (...all: { node: string; port: number }[]) =>
      all.map(p => `${p.node}:${p.port}`).join(',');
    const env = (blue: typeof blue1, green: typeof green1) => ({
      CLUSTER_COOKIE: TEST_COOKIE,
      BLUE_NODE: blue.node,
      BLUE_PORT: String(blue.port),
      BLUE_PEERS: peers(blue1!, blue2!),
      GREEN_NODE: green.node,
      GREEN_PORT: String(green.port),
      GREEN_PEERS: peers(green1!, green2!),
    });
    const one = await startNode(env(blue1!, green1!), 20_000, fixture);
    const two = await startNode(env(blue2!, green2!), 20_000, fixture);

    const expected: [SampleNode, Views][] = [
      [
        one,
        {
          blue: { self: blue1!.node, members: [blue2!.node] },
          green: { self: green1!.node, members: [green2!.node] },
        },
      ],
      [
        two,
        {
          blue: { self: blue2!.node, members: [blue1!.node] },
          green: { self: green2!.node, members: [green1!.node] },
        },
      ],
    ];
    const converged = async () => {
      for (const [node, views] of expected)
        if (JSON.stringify(await get<Views>(node, '/clusters')) !== JSON.stringify(views))
          return false;
      return true;
    };
    await until(converged, 15_000, 'blue and green to form, each of its own colour');

    const ask = (node: SampleNode, cluster: string, to: string) =>
      get<Record<string, unknown>>(node, `/ask?cluster=${cluster}&to=${encodeURIComponent(to)}`);
    expect(await ask(one, 'blue', blue2!.node)).toEqual({ cluster: 'blue', node: blue2!.node });
    expect(await ask(two, 'blue', blue1!.node)).toEqual({ cluster: 'blue', node: blue1!.node });
    expect(await ask(one, 'green', green2!.node)).toEqual({
      cluster: 'green',
      node: green2!.node,
    });
    expect(await ask(two, 'green', green1!.node)).toEqual({
      cluster: 'green',
      node: green1!.node,
    });
    // A node of the other cluster is no member: a request to it fails, it never crosses over.
    expect(await ask(one, 'blue', green2!.node)).toMatchObject({ code: 'ERR_NODE_DOWN' });
    expect(await ask(two, 'green', blue1!.node)).toMatchObject({ code: 'ERR_NODE_DOWN' });
    // and the views are still of one colour each after those requests
    expect(await converged()).toBe(true);
  });
});
