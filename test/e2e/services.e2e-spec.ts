import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CallAnswer, ServersAnswer } from '../../sample/app.module.js';
import type { LoadReport, LoadRequest } from '../fixtures/apps/services/call-load.js';
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
 * Issue 14's "Done when", with three real processes of the sample app, through the services
 * fixture app (test/fixtures/apps/services: the sample's AppModule plus probe routes), on
 * 127.0.0.1 with static discovery. a serves `prices` and `stock`; b and c serve `prices`
 * (`SAMPLE_SERVES`) and `slow` (`PROBE_SERVES`: answers after `payload.ms`). Each node keeps its
 * name and dist port across restarts. Processes are stopped by pid; every wait has a deadline.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The rendezvous hashing the library was built with (dist), to compute owners independently. */
const rendezvousPath = join(root, 'dist', 'src', 'primitives', 'calls', 'rendezvous.js');

interface HttpAnswer<T> {
  readonly status: number;
  readonly body: T;
}

async function http<T = unknown>(
  node: SampleNode,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<HttpAnswer<T>> {
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** `GET /cluster/servers/:topic` of `node`: its view of who serves `topic`. */
async function servers(node: SampleNode, topic: string): Promise<string[]> {
  const answer = await http<ServersAnswer>(node, 'GET', `/cluster/servers/${topic}`);
  expect(answer.status).toBe(200);
  expect(answer.body.topic).toBe(topic);
  return answer.body.servers;
}

/** `GET /cluster/call/:topic[?key=K]` of `node`. */
function callThrough(
  node: SampleNode,
  topic: string,
  key?: string,
): Promise<HttpAnswer<CallAnswer & { code?: string; message?: string }>> {
  const query = key === undefined ? '' : `?key=${encodeURIComponent(key)}`;
  return http(node, 'GET', `/cluster/call/${topic}${query}`);
}

/** Who served each key, through `node`'s `GET /cluster/call/prices?key=K` (20 at a time). */
async function ownersSeen(node: SampleNode, keys: readonly string[]): Promise<string[]> {
  const seen: string[] = new Array<string>(keys.length);
  for (let start = 0; start < keys.length; start += 20)
    await Promise.all(
      keys.slice(start, start + 20).map(async (key, offset) => {
        const answer = await callThrough(node, 'prices', key);
        expect(answer.status).toBe(200);
        expect(answer.body.value).toEqual({ key });
        seen[start + offset] = answer.body.servedBy;
      }),
    );
  return seen;
}

const loadSoFar = async (node: SampleNode) =>
  (await http<LoadReport>(node, 'GET', '/probe/load')).body;

/** Starts a load on `node`; the promise settles with its report once it ends. */
function startLoad(node: SampleNode, request: LoadRequest): Promise<LoadReport> {
  return http<LoadReport>(node, 'POST', '/probe/load', request).then(answer => {
    expect(answer.status).toBe(201);
    return answer.body;
  });
}

describe('services across three processes: the registry, call, key affinity, retries, drain', () => {
  const names = ['a', 'b', 'c'].map(part => `${part}-${process.pid}@127.0.0.1`);
  const [A, B, C] = names as [string, string, string];
  const env: Record<string, Record<string, string>> = {};
  const nodes: Record<string, SampleNode> = {};
  let owner: (key: string, nodes: readonly string[]) => string | undefined;

  const start = async (name: string) => {
    nodes[name] = await startNode(env[name]!, {
      main: fixtureAppMain('services'),
      timeoutMs: 30_000,
    });
    return nodes[name];
  };
  /** Every node's view of `topic` is `expected`. */
  const allSee = async (topic: string, expected: readonly string[], among = names) =>
    (await Promise.all(among.map(name => servers(nodes[name]!, topic)))).every(
      view => JSON.stringify(view) === JSON.stringify(expected),
    );
  /** Stops `name` with SIGTERM (it drains and leaves) and waits until the others no longer list it. */
  const stopGracefully = async (name: string, topic: string, expected: readonly string[]) => {
    await nodes[name]!.stop(15_000);
    // Nest re-raises SIGTERM after its shutdown hooks; SIGKILL would mean the grace ran out.
    expect(nodes[name]!.exitSignal).not.toBe('SIGKILL');
    const others = names.filter(other => other !== name);
    await until(() => allSee(topic, expected, others), 10_000, `${name} withdrawn from ${topic}`);
  };
  /** Starts `name` again (same name, same port) and waits until every node lists it. */
  const restart = async (name: string, topic: string, expected: readonly string[]) => {
    await start(name);
    await until(() => allSee(topic, expected), 15_000, `${name} back in the servers of ${topic}`);
  };

  beforeAll(async () => {
    ({ owner } = (await import(pathToFileURL(rendezvousPath).href)) as {
      owner: typeof owner;
    });
    const ports = await portsForRestarts(names.length);
    names.forEach((name, i) => {
      env[name] = {
        ...staticNodeEnv(names, ports, i),
        SAMPLE_SERVES: name === A ? 'prices,stock' : 'prices',
        ...(name === A ? {} : { PROBE_SERVES: 'slow' }),
      };
    });
    await Promise.all(names.map(start));
    await until(() => allSee('prices', names), 20_000, 'every node to list a, b and c for prices');
  }, 60_000);
  afterAll(stopAll);

  it('spreads 300 calls round-robin over the three servers, 100 ± 1 each', async () => {
    expect(await servers(nodes[A]!, 'prices')).toEqual([A, B, C]);
    const counts: Record<string, number> = {};
    for (let batch = 0; batch < 30; batch++)
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const answer = await callThrough(nodes[A]!, 'prices');
          expect(answer.status).toBe(200);
          expect(answer.body.value).toEqual({});
          counts[answer.body.servedBy] = (counts[answer.body.servedBy] ?? 0) + 1;
        }),
      );
    expect(Object.keys(counts).sort()).toEqual([A, B, C]);
    for (const name of names) {
      expect(counts[name]).toBeGreaterThanOrEqual(99);
      expect(counts[name]).toBeLessThanOrEqual(101);
    }
  });

  it('sends a key to the same node while membership is stable, and moves only the keys of a node that left', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `tenant-${i}`);
    const expected = keys.map(key => owner(key, names));
    // Stable: three rounds, always the owner the built hashing names.
    for (let round = 0; round < 3; round++)
      expect(await ownersSeen(nodes[A]!, keys)).toEqual(expected);
    const ofC = keys.filter((_, i) => expected[i] === C);
    expect(ofC.length).toBeGreaterThan(50);

    await stopGracefully(C, 'prices', [A, B]);
    const withoutC = await ownersSeen(nodes[A]!, keys);
    keys.forEach((key, i) => {
      // a's and b's keys stay; c's go to their second choice among a and b.
      if (expected[i] !== C) expect(withoutC[i]).toBe(expected[i]);
      else expect(withoutC[i]).toBe(owner(key, [A, B]));
    });
    expect(withoutC).not.toContain(C);

    await restart(C, 'prices', names);
    // Exactly c's former keys go back to it.
    expect(await ownersSeen(nodes[A]!, keys)).toEqual(expected);
  });

  it('answers ERR_NO_SERVER when nobody serves a topic, and after the only server withdraws it', async () => {
    const nothing = await callThrough(nodes[A]!, 'nothing');
    expect(nothing.status).toBe(503);
    expect(nothing.body.code).toBe('ERR_NO_SERVER');
    expect(nothing.body.message).toContain('"nothing"');
    expect(await servers(nodes[A]!, 'nothing')).toEqual([]);

    // `stock` is served by a alone; b and c see it and reach it.
    await until(() => allSee('stock', [A]), 10_000, 'every node to list a alone for stock');
    const served = await callThrough(nodes[B]!, 'stock');
    expect(served).toEqual({ status: 200, body: { servedBy: A, value: {} } });

    expect((await http(nodes[A]!, 'POST', '/probe/withdraw/stock')).status).toBe(201);
    await until(() => allSee('stock', []), 10_000, 'stock to leave every view');
    for (const name of [B, C]) {
      const refused = await callThrough(nodes[name]!, 'stock');
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('ERR_NO_SERVER');
      expect(refused.body.message).toContain('"stock"');
    }
    // The other topics are untouched.
    expect(await servers(nodes[B]!, 'prices')).toEqual(names);
  });

  it('fails the bootstrap of a sample whose SAMPLE_SERVES names a reserved topic, naming the variable', async () => {
    await expect(
      startNode(
        { GEN_CLUSTER_NODE: `bad-${process.pid}@127.0.0.1`, SAMPLE_SERVES: 'prices,$gc.x' },
        30_000,
      ),
    ).rejects.toThrow(/exited with 1[\s\S]*SAMPLE_SERVES="prices,\$gc\.x"[\s\S]*"\$gc\.x"/);
  });

  /**
   * a (which does not serve `slow`) calls it 20 at a time, 200 ms each, on b and c; c is killed
   * with SIGKILL while calls are in flight on it. Answers c's restart with every node listing it.
   */
  const killMidLoad = async (retries: number): Promise<LoadReport> => {
    expect(await servers(nodes[A]!, 'slow')).toEqual([B, C]);
    const load = startLoad(nodes[A]!, {
      topic: 'slow',
      ms: 200,
      concurrency: 20,
      retries,
      count: 300,
    });
    await until(async () => (await loadSoFar(nodes[A]!)).ok >= 40, 20_000, '40 calls answered');
    await nodes[C]!.kill();
    await until(async () => (await servers(nodes[A]!, 'slow')).length === 1, 10_000, 'c down on a');
    const atDown = (await loadSoFar(nodes[A]!)).byServer[C] ?? 0;
    const report = await load;
    // Nothing answers from a dead node.
    expect(report.byServer[C] ?? 0).toBe(atDown);
    expect(report.ok + report.failed).toBe(300);
    await restart(C, 'slow', [B, C]);
    return report;
  };

  it('retries a call on another server when its node is killed with SIGKILL, and fails without retries', async () => {
    const withRetry = await killMidLoad(1);
    expect(withRetry.errors).toEqual([]);
    expect(withRetry.failed).toBe(0);
    expect(withRetry.ok).toBe(300);
    expect(withRetry.byServer[C]).toBeGreaterThan(0);
    expect(withRetry.byServer[B]).toBeGreaterThan(withRetry.byServer[C]!);

    // The same kill without retries fails the calls that were on c: the test above is sensitive.
    const without = await killMidLoad(0);
    expect(without.failed).toBeGreaterThan(0);
    expect(Object.keys(without.failedByCode)).toEqual(['ERR_NODE_DOWN']);
  });

  it('completes a rolling restart of the serving nodes under continuous call load with zero failed calls, without retries', async () => {
    const load = startLoad(nodes[A]!, { topic: 'slow', ms: 50, concurrency: 50, retries: 0 });
    await until(async () => (await loadSoFar(nodes[A]!)).ok >= 200, 20_000, 'the load to run');
    for (const name of [B, C]) {
      await stopGracefully(
        name,
        'slow',
        [B, C].filter(other => other !== name),
      );
      await restart(name, 'slow', [B, C]);
      const before = (await loadSoFar(nodes[A]!)).byServer[name] ?? 0;
      await until(
        async () => ((await loadSoFar(nodes[A]!)).byServer[name] ?? 0) > before + 50,
        15_000,
        `${name} to serve calls again after its restart`,
      );
    }
    await http(nodes[A]!, 'POST', '/probe/load/stop');
    const report = await load;
    expect(report.errors).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.ok).toBeGreaterThan(400);
  });
});
