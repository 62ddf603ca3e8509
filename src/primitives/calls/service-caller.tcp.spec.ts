/**
 * `call`'s deadline on real TCP dists (loopback, in this process): a call without `timeoutMs`
 * is bounded by the dist's `requestTimeoutMs`, which its first attempt uses too, and what is left
 * for a retry is given in whole milliseconds.
 */
import { RequestTimeoutError } from '../../distribution/index.js';
import { type TestNode, startInProcess, stopInProcess } from '../../../test/support/in-process.js';
import { until } from '../../../test/support/wait.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { ServiceCaller } from './service-caller.js';

const TOPIC = 'slow';
const B = 'b@127.0.0.1';
const C = 'c@127.0.0.1';

describe('ServiceCaller on TCP dists', () => {
  let a: TestNode;
  let caller: ServiceCaller;
  const registries: ServiceRegistry[] = [];
  let release!: () => void;
  const held = new Promise<void>(resolve => (release = resolve));

  beforeAll(async () => {
    const servers: TestNode[] = [];
    for (const name of ['b', 'c']) {
      const node = await startInProcess(name);
      node.dist.messaging.on(TOPIC, async () => {
        await held;
        return 'late';
      });
      registries.push(
        new ServiceRegistry({ cluster: node.cluster, messaging: node.dist.messaging }),
      );
      servers.push(node);
    }
    a = await startInProcess(
      'a',
      servers.map((s, i) => `${[B, C][i]}:${s.port}`),
      { requestTimeoutMs: 200 },
    );
    const registry = new ServiceRegistry({ cluster: a.cluster, messaging: a.dist.messaging });
    registries.push(registry);
    caller = new ServiceCaller(registry, a.dist.messaging);
    await until(() => registry.servers(TOPIC).length === 2, 10_000, 'a sees both servers');
  });

  afterAll(async () => {
    release();
    for (const registry of registries) registry.close();
    await stopInProcess();
  });

  it("bounds a call without timeoutMs, retries included, by the dist's requestTimeoutMs", async () => {
    const started = performance.now();
    const error = await caller
      .call(TOPIC, 1, { retries: 1, retryOn: ['timeout'] })
      .catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_REQUEST_TIMEOUT', timeoutMs: 200 });
    // 5 s (the messaging default) before the fix; generous for a loaded machine
    expect(elapsed).toBeLessThan(3_000);
  });

  it('gives a retry whole milliseconds of what is left, in its error text too', async () => {
    const error = (await caller
      .call(TOPIC, 1, { timeoutMs: 900, attemptTimeoutMs: 600, retries: 1, retryOn: ['timeout'] })
      .catch((e: unknown) => e)) as RequestTimeoutError;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(Number.isInteger(error.timeoutMs)).toBe(true);
    // what is left of 900 after a 600 ms attempt, rounded up; Node may fire that attempt's timer
    // up to a millisecond early (its clock has millisecond steps), leaving 301
    expect(error.timeoutMs).toBeGreaterThan(0);
    expect(error.timeoutMs).toBeLessThanOrEqual(302);
    expect(error.message).toMatch(/within \d+ ms/);
  });
});
