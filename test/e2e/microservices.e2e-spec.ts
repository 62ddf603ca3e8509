import { type SampleNode, startFixtureTrio, stopAll } from '../support/nodes.js';
import { until } from '../support/wait.js';
import type { SendAnswer } from '../fixtures/apps/microservices/probe.controller.js';

/**
 * The microservices transport across three real processes of the fixture app
 * (test/fixtures/apps/microservices, built by `npm run build`) on 127.0.0.1, static discovery:
 * b and c serve the unchanged `@nestjs/microservices` math controller through
 * `createGenClusterTransport(app)` in a hybrid app; a only calls, through a
 * `GenClusterClientsModule` client driven by HTTP probe routes.
 */

interface Seen {
  readonly users: unknown[];
  readonly audits: unknown[];
  readonly auditRequests: number;
}

async function post<T>(node: SampleNode, path: string, body: unknown): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as T;
}

async function seen(node: SampleNode): Promise<Seen> {
  return (await (await fetch(`http://127.0.0.1:${node.http}/probe/seen`)).json()) as Seen;
}

const send = (node: SampleNode, pattern: unknown, data: unknown, key?: string) =>
  post<SendAnswer>(node, '/probe/send', { pattern, data, key });

describe('the microservices transport across three processes', () => {
  let a: SampleNode;
  let b: SampleNode;
  let c: SampleNode;

  beforeAll(async () => {
    [a, b, c] = await startFixtureTrio('microservices', i => ({ MS_SERVE: i === 0 ? '0' : '1' }));
    await until(
      async () => {
        const view = await post<{ servers: string[]; subscribers: string[] }>(a, '/probe/servers', {
          pattern: 'user_created',
        }).catch(() => undefined);
        const sum = await post<{ servers: string[] }>(a, '/probe/servers', {
          pattern: { cmd: 'sum' },
        }).catch(() => undefined);
        return view?.subscribers.length === 2 && sum?.servers.length === 2;
      },
      30_000,
      "a to see b's and c's patterns",
    );
  }, 90_000);
  afterAll(stopAll);

  it('lists b and c as the servers of each pattern, and not a (which only calls)', async () => {
    await expect(post(a, '/probe/servers', { pattern: { cmd: 'sum' } })).resolves.toEqual({
      servers: [b.name, c.name],
      subscribers: [],
    });
    await expect(post(b, '/probe/servers', { pattern: 'user_created' })).resolves.toEqual({
      servers: [],
      subscribers: [b.name, c.name],
    });
  });

  it('answers request/response, an Observable, an RpcException and an HttpException as Nest does', async () => {
    await expect(send(a, { cmd: 'sum' }, [1, 2, 3])).resolves.toEqual({ ok: true, values: [6] });
    await expect(send(a, 'stream', {})).resolves.toEqual({ ok: true, values: [1, 2, 3] });
    await expect(send(a, 'fail', {})).resolves.toEqual({
      ok: false,
      error: { code: 'E_LIMIT', message: 'too many' },
    });
    await expect(send(a, 'http', {})).resolves.toEqual({
      ok: false,
      error: { status: 'error', message: 'Internal server error' },
    });
    await expect(send(a, 'nothing', {})).resolves.toEqual({
      ok: false,
      error: expect.objectContaining({ name: 'NoServerError', code: 'ERR_NO_SERVER' }),
    });
  });

  it('delivers an event once to b and once to c', async () => {
    await expect(
      post(a, '/probe/emit', { pattern: 'user_created', data: { id: 1 } }),
    ).resolves.toEqual({ count: 2 });
    await expect(
      post(a, '/probe/emit', { pattern: 'user_created', data: { id: 2 } }),
    ).resolves.toEqual({ count: 2 });
    await until(
      async () => (await seen(b)).users.length >= 2 && (await seen(c)).users.length >= 2,
      10_000,
      'the events on b and c',
    );
    expect((await seen(b)).users).toEqual([{ id: 1 }, { id: 2 }]);
    expect((await seen(c)).users).toEqual([{ id: 1 }, { id: 2 }]);
    expect((await seen(a)).users).toEqual([]);
  });

  it('spreads 30 calls over b and c, and keeps a key on one of them', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => send(a, 'whoami', {})));
    const servedBy = answers.map(answer => (answer.ok ? answer.values[0] : answer.error));
    expect(servedBy.filter(n => n === b.name).length).toBeGreaterThanOrEqual(14);
    expect(servedBy.filter(n => n === c.name).length).toBeGreaterThanOrEqual(14);
    expect(servedBy.filter(n => n !== b.name && n !== c.name)).toEqual([]);

    const keyed = await Promise.all(
      Array.from({ length: 5 }, () => send(a, 'whoami', {}, 'tenant-7')),
    );
    expect(new Set(keyed.map(answer => JSON.stringify(answer))).size).toBe(1);
  });
});
