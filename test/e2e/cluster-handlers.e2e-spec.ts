import { type SampleNode, startFixtureMesh, startNode, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';
import type { DescribedError } from '../fixtures/apps/cluster-handlers/probe.controller.js';
import type { Seen as FixtureSeen } from '../fixtures/apps/cluster-handlers/seen.js';

/**
 * Issue 13's "Done when", with three real processes of the fixture app
 * (test/fixtures/apps/cluster-handlers, built by `npm run build`) on 127.0.0.1, static discovery,
 * each on its own free port, sharing the test cookie. Each process serves decorated handlers
 * (`@ClusterHandler`, `@OnClusterMessage`, `@OnNodeUp`/`@OnNodeDown`) that run through Nest's
 * pipeline behind an app-wide HTTP guard; the test drives them through HTTP probe routes and
 * reads what ran where from `GET /probe/seen`.
 */

/** The bearer token of the fixture app's app-wide HTTP guard (http-auth.guard.ts). */
const TOKEN = 'fixture-token';

interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
}

type ProbeAnswer<T = unknown> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DescribedError };

/** `GET /probe/seen` of the fixture app: the fields of its `Seen` provider, as JSON. */
type Seen = Omit<FixtureSeen, 'handled' | 'received'>;

/** One HTTP request to `node`, with the bearer token `token` (none when `null`). */
async function http<T = unknown>(
  node: SampleNode,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** What `node` has seen so far. */
async function seen(node: SampleNode): Promise<Seen> {
  const answer = await http<Seen>(node, 'GET', '/probe/seen');
  expect(answer.status).toBe(200);
  return answer.body;
}

/** `from` asks `to`'s handler of `topic` over the cluster, through the probe route. */
async function ask<T = unknown>(
  from: SampleNode,
  to: SampleNode,
  topic: string,
  payload: unknown,
): Promise<ProbeAnswer<T>> {
  const answer = await http<ProbeAnswer<T>>(from, 'POST', '/probe/request', {
    node: to.name,
    topic,
    payload,
  });
  expect(answer.status).toBe(201);
  return answer.body;
}

const calls = (s: Seen, topic: string) => s.handlerCalls[topic] ?? 0;

describe('decorated cluster handlers through Nest, across three processes', () => {
  let a: SampleNode;
  let b: SampleNode;
  let c: SampleNode;

  beforeAll(async () => {
    [a, b, c] = await startFixtureMesh('cluster-handlers');
  }, 60_000);
  afterAll(stopAll);

  it('answers a request with a decorated handler, which gets the validated payload and the context', async () => {
    await expect(ask(a, b, 'prices.get', { sku: 'apple', quantity: 2 })).resolves.toEqual({
      ok: true,
      value: { sku: 'apple', total: 6, servedBy: b.name, from: a.name, kind: 'request' },
    });
    await expect(ask(b, c, 'prices.get', { sku: 'plum' })).resolves.toEqual({
      ok: true,
      value: { sku: 'plum', total: 5, servedBy: c.name, from: b.name, kind: 'request' },
    });
    // @OnNodeUp on a provider saw the two others join.
    await until(
      async () => (await seen(a)).nodeEvents.filter(e => e.startsWith('nodeUp:')).length >= 2,
      5_000,
      "a's @OnNodeUp to see b and c",
    );
    expect((await seen(a)).nodeEvents).toEqual(
      expect.arrayContaining([`nodeUp:${b.name}`, `nodeUp:${c.name}`]),
    );
  });

  it('gives the caller a 400 with the ValidationPipe messages for an invalid DTO, and never runs the handler', async () => {
    const before = calls(await seen(b), 'prices.get');
    const answer = await ask(a, b, 'prices.get', { sku: 42, quantity: 0 });
    expect(answer).toEqual({
      ok: false,
      error: expect.objectContaining({
        name: 'RemoteHttpException',
        httpException: true,
        remote: true,
        status: 400,
        node: b.name,
        topic: 'prices.get',
        response: {
          statusCode: 400,
          error: 'Bad Request',
          message: expect.arrayContaining([
            'sku must be a string',
            'quantity must not be less than 1',
          ]),
        },
      }),
    });
    expect(calls(await seen(b), 'prices.get')).toBe(before);
  });

  it('gives the caller a 403 when a @UseGuards guard refuses, and never runs the handler', async () => {
    const before = calls(await seen(b), 'prices.guarded');
    const refused = await ask(a, b, 'prices.guarded', { sku: 'apple', role: 'guest' });
    expect(refused).toEqual({
      ok: false,
      error: expect.objectContaining({
        name: 'RemoteHttpException',
        httpException: true,
        status: 403,
        node: b.name,
        topic: 'prices.guarded',
        response: { statusCode: 403, error: 'Forbidden', message: 'Forbidden resource' },
      }),
    });
    expect(calls(await seen(b), 'prices.guarded')).toBe(before);
    // The same call with the role the guard wants runs the handler: the refusal was the guard's.
    await expect(ask(a, b, 'prices.guarded', { sku: 'apple', role: 'admin' })).resolves.toEqual({
      ok: true,
      value: { sku: 'apple' },
    });
    expect(calls(await seen(b), 'prices.guarded')).toBe(before + 1);
  });

  it('runs the interceptor for every call that passes the guards, with the cluster context', async () => {
    const before = (await seen(c)).audited.length;
    const made: [SampleNode, string, unknown, 'ok' | 'error'][] = [
      [a, 'prices.get', { sku: 'apple' }, 'ok'],
      [b, 'prices.get', { sku: 'pear', quantity: 3 }, 'ok'],
      [a, 'prices.get', { sku: 7 }, 'error'], // refused by the pipe, inside the interceptor
      [b, 'prices.get', { sku: 'missing' }, 'error'], // NotFoundException
      [a, 'prices.filtered', { sku: 'missing' }, 'error'], // thrown, then answered by the filter
      [b, 'prices.guarded', { sku: 'plum', role: 'admin' }, 'ok'],
    ];
    for (const [from, topic, payload] of made) await ask(from, c, topic, payload);
    // Guards run before interceptors: a call the guard refuses is not seen.
    await ask(a, c, 'prices.guarded', { sku: 'plum', role: 'guest' });
    expect((await seen(c)).audited.slice(before)).toEqual(
      made.map(([from, topic, payload, outcome]) => ({
        topic,
        type: 'gen-cluster',
        from: from.name,
        payload,
        outcome,
      })),
    );
  });

  it('answers with what a @UseFilters exception filter returns on the filtered topic only', async () => {
    const before = calls(await seen(b), 'prices.filtered');
    await expect(ask(a, b, 'prices.filtered', { sku: 'missing' })).resolves.toEqual({
      ok: true,
      value: {
        found: false,
        sku: 'missing',
        topic: 'prices.filtered',
        filteredBy: 'NotFoundFilter',
        message: 'No price for missing',
      },
    });
    expect(calls(await seen(b), 'prices.filtered')).toBe(before + 1);
    // The topic without the filter gives the NotFoundException to the caller as a 404.
    const unfiltered = await ask(a, b, 'prices.get', { sku: 'missing' });
    expect(unfiltered).toEqual({
      ok: false,
      error: expect.objectContaining({
        name: 'RemoteHttpException',
        status: 404,
        response: { statusCode: 404, error: 'Not Found', message: 'No price for missing' },
      }),
    });
  });

  it('delivers one broadcast to both subscribers of the topic on every other node, once each', async () => {
    const id = `change-${process.pid}-${Date.now()}`;
    const sent = await http<{ sent: number }>(a, 'POST', '/probe/broadcast', {
      topic: 'prices.changed',
      payload: { id, sku: 'apple' },
    });
    expect(sent).toEqual({ status: 201, body: { sent: 2 } });
    const received = (s: Seen, subscriber: string) =>
      (s.subscribers[subscriber] ?? []).filter(x => x === id).length;
    await until(
      async () =>
        (await Promise.all([b, c].map(seen))).every(
          s => received(s, 'cache') >= 1 && received(s, 'log:oneWay') >= 1,
        ),
      5_000,
      'both subscribers on b and c to receive the broadcast',
    );
    for (const node of [b, c]) {
      const s = await seen(node);
      expect([received(s, 'cache'), received(s, 'log:oneWay')]).toEqual([1, 1]);
    }
    // A broadcast leaves the sender out.
    const own = await seen(a);
    expect([received(own, 'cache'), received(own, 'log:oneWay')]).toEqual([0, 0]);
    // Subscribers never get requests: a topic with subscribers only has no request handler.
    const request = await ask(a, b, 'prices.changed', { id: `${id}-request`, sku: 'apple' });
    expect(request).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'ERR_NO_HANDLER', remote: true }),
    });
    const after = await seen(b);
    expect(Object.values(after.subscribers).flat()).not.toContain(`${id}-request`);
  });

  it("turns a remote NotFoundException into a 404 with the same body at the caller's HTTP route", async () => {
    const local = await http(b, 'GET', '/local-prices/missing');
    expect(local).toEqual({
      status: 404,
      body: { statusCode: 404, error: 'Not Found', message: 'No price for missing' },
    });
    const remote = await http(a, 'GET', `/prices/missing?node=${encodeURIComponent(b.name)}`);
    expect(remote).toEqual(local);
    await expect(
      http(a, 'GET', `/prices/pear?node=${encodeURIComponent(b.name)}`),
    ).resolves.toEqual({
      status: 200,
      body: { sku: 'pear', total: 4, servedBy: b.name, from: a.name, kind: 'request' },
    });
  });

  it('lets cluster messages through an app-wide HTTP guard that checks getType(), which refuses HTTP without a token (401)', async () => {
    const unauthorized = {
      status: 401,
      body: { statusCode: 401, error: 'Unauthorized', message: 'A bearer token is required' },
    };
    const refusalsBefore = (await seen(a)).guardHttpRefusals;
    await expect(http(a, 'GET', '/probe/seen', undefined, null)).resolves.toEqual(unauthorized);
    await expect(http(a, 'GET', '/probe/seen', undefined, 'wrong-token')).resolves.toEqual(
      unauthorized,
    );
    await expect(
      http(a, 'GET', `/prices/apple?node=${encodeURIComponent(b.name)}`, undefined, 'wrong'),
    ).resolves.toEqual(unauthorized);
    expect((await seen(a)).guardHttpRefusals).toBe(refusalsBefore + 3);

    // The guard ran for the cluster message (global guards apply to cluster handlers) and let it
    // through because getType() is 'gen-cluster'; the message carries no token.
    const passesBefore = (await seen(b)).guardClusterPasses;
    await expect(ask(a, b, 'prices.get', { sku: 'plum' })).resolves.toMatchObject({ ok: true });
    expect((await seen(b)).guardClusterPasses).toBe(passesBefore + 1);
  });

  it('resolves requestAll with one result per node when a node is SIGKILLed mid-call, at once, not at the timeout', async () => {
    const id = `slow-${process.pid}-${Date.now()}`;
    const started = await Promise.all(
      [a, b, c].map(async n => calls(await seen(n), 'prices.slow')),
    );
    const timeoutMs = 15_000;
    const pending = http<{
      elapsedMs: number;
      results: { node: string; ok: boolean; value?: unknown; error?: DescribedError }[];
    }>(a, 'POST', '/probe/request-all', {
      topic: 'prices.slow',
      payload: { id },
      includeSelf: true,
      timeoutMs,
    });
    // Kill c once its handler runs (it answers 1.5 s later), so the kill lands mid-call.
    await until(
      async () => calls(await seen(c), 'prices.slow') > started[2]!,
      5_000,
      "c's slow handler to start",
      5,
    );
    await c.kill();
    const answer = await pending;
    expect(answer.status).toBe(201);
    const byNode = [...answer.body.results].sort((x, y) => x.node.localeCompare(y.node));
    expect(byNode).toEqual([
      { node: a.name, ok: true, value: { node: a.name, id } },
      { node: b.name, ok: true, value: { node: b.name, id } },
      {
        node: c.name,
        ok: false,
        error: expect.objectContaining({
          code: 'ERR_NODE_DOWN',
          node: c.name,
          topic: 'prices.slow',
        }),
      },
    ]);
    // a and b each ran the handler once; c's answer came from its going down, not the timeout.
    expect(calls(await seen(a), 'prices.slow')).toBe(started[0]! + 1);
    expect(calls(await seen(b), 'prices.slow')).toBe(started[1]! + 1);
    expect(answer.body.elapsedMs).toBeGreaterThanOrEqual(1_400);
    expect(answer.body.elapsedMs).toBeLessThan(6_000);
    // @OnNodeDown on a provider saw c go.
    await until(
      async () => (await seen(a)).nodeEvents.includes(`nodeDown:${c.name}`),
      5_000,
      "a's @OnNodeDown to see c go",
    );
  }, 30_000);
});

describe("the sample app's decorated handlers, across two processes", () => {
  let one: SampleNode;
  let two: SampleNode;

  beforeAll(async () => {
    const ports = await Promise.all([freePort(), freePort()]);
    const names = ['one', 'two'].map(n => `${n}@127.0.0.1`);
    const peers = names.map((name, i) => `${name}:${ports[i]}`).join(',');
    [one, two] = (await Promise.all(
      names.map((name, i) =>
        startNode(
          {
            GEN_CLUSTER_NODE: name,
            GEN_CLUSTER_PORT: String(ports[i]),
            GEN_CLUSTER_DISCOVERY: `static:${peers}`,
            GEN_CLUSTER_LOG_LEVEL: 'warn',
          },
          { timeoutMs: 30_000 },
        ),
      ),
    )) as [SampleNode, SampleNode];
    await until(
      async () => (await Promise.all([one, two].map(n => n.members()))).every(m => m?.length === 1),
      20_000,
      'two sample nodes to connect',
    );
  }, 60_000);
  afterAll(stopAll);

  const get = async (node: SampleNode, path: string) => {
    const response = await fetch(`http://127.0.0.1:${node.http}${path}`);
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('greets through sample.greet on another node, and a name ValidationPipe refuses there is a 400 here', async () => {
    await expect(get(one, `/cluster/greet/${two.name}?name=Ada`)).resolves.toEqual({
      status: 200,
      body: { greeting: `Hello, Ada, from ${two.name}`, servedBy: two.name, from: one.name },
    });
    await expect(get(one, `/cluster/greet/${two.name}?name=${'x'.repeat(65)}`)).resolves.toEqual({
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: ['name must be shorter than or equal to 64 characters'],
      },
    });
    await expect(get(one, '/cluster/greet/nobody@127.0.0.1?name=Ada')).resolves.toEqual({
      status: 503,
      body: expect.objectContaining({ statusCode: 503, error: 'Service Unavailable' }),
    });
  });

  it('keeps what its sample.announce subscriber receives, and logs node events through @OnNodeUp/@OnNodeDown', async () => {
    const text = `hello from ${process.pid}`;
    const sent = await fetch(`http://127.0.0.1:${one.http}/cluster/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    expect(await sent.json()).toEqual({ sent: 1 });
    const announcements = async () =>
      (await get(two, '/cluster/announcements')).body as { from: string; text: string }[];
    await until(
      async () => (await announcements()).some(a => a.text === text),
      5_000,
      'two to receive the announcement',
    );
    expect((await announcements()).filter(a => a.text === text)).toEqual([
      expect.objectContaining({ from: one.name, text }),
    ]);
    expect((await get(one, '/cluster/announcements')).body).toEqual([]);

    expect((await one.changes()).map(c => `${c.type} ${c.node}`)).toEqual([`nodeUp ${two.name}`]);
    await two.stop();
    await until(
      async () => (await one.changes()).some(c => c.type === 'nodeDown'),
      10_000,
      "one's @OnNodeDown to log two leaving",
    );
    expect(await one.changes()).toEqual([
      expect.objectContaining({ type: 'nodeUp', node: two.name }),
      expect.objectContaining({ type: 'nodeDown', node: two.name, reason: expect.any(String) }),
    ]);
  });
});
