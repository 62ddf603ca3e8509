import { jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { type ClientProxy, ClientsModule } from '@nestjs/microservices';
import { transformPatternToRoute } from '@nestjs/microservices/utils/transform-pattern.utils.js';
import { Test } from '@nestjs/testing';
import { lastValueFrom, toArray } from 'rxjs';
import { MathController } from '../../test/fixtures/apps/microservices/math.controller.js';
import { MathSeen, SERVED_BY } from '../../test/fixtures/apps/microservices/math.seen.js';
import { until } from '../../test/support/wait.js';
import { hasMessaging } from '../core/index.js';
import { ClusterService } from '../nest/index.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../testing/index.js';
import {
  GEN_CLUSTER_TRANSPORT,
  GenClusterClientProxy,
  GenClusterClientsModule,
  GenClusterContext,
  type GenClusterTransport,
  createGenClusterTransport,
  patternTopic,
  withKey,
} from './index.js';

/**
 * The transport and the client in process: `a@test` is the client, `b@test` and `c@test` serve
 * the unchanged fixture controller (test/fixtures/apps/microservices/math.controller.ts) through
 * `createGenClusterTransport(app)` in hybrid apps, all on one in-memory network.
 */
interface TestNode {
  readonly app: INestApplication;
  readonly cluster: ClusterService;
  readonly seen: MathSeen;
  readonly transport?: GenClusterTransport;
}

async function startNode(
  network: InMemoryNetwork,
  node: string,
  serve: boolean,
): Promise<TestNode> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      GenClusterTestingModule.forRoot({ network, node }),
      GenClusterClientsModule.register([{ name: 'MATH' }]),
      ClientsModule.registerAsync([
        {
          name: 'MATH_NEST',
          inject: [ClusterService],
          useFactory: (cluster: ClusterService) => ({
            customClass: GenClusterClientProxy,
            options: { cluster },
          }),
        },
      ]),
    ],
    controllers: serve ? [MathController] : [],
    providers: [MathSeen, { provide: SERVED_BY, useValue: node }],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  let transport: GenClusterTransport | undefined;
  if (serve) {
    transport = createGenClusterTransport(app);
    app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
  }
  await app.startAllMicroservices();
  await app.init();
  return { app, cluster: app.get(ClusterService), seen: app.get(MathSeen), transport };
}

/** How many requests `node` is serving now. */
const serving = (node: TestNode): number => {
  const dist = node.cluster.engine?.strategies.dist;
  return dist !== undefined && hasMessaging(dist) ? (dist.messaging.servingCount ?? 0) : 0;
};

const values = <T>(client: ClientProxy, pattern: unknown, data: unknown): Promise<T[]> =>
  lastValueFrom(client.send<T>(pattern, data).pipe(toArray()));

const failure = (client: ClientProxy, pattern: unknown, data: unknown): Promise<unknown> =>
  lastValueFrom(client.send(pattern, data)).then(
    value => {
      throw new Error(`expected an error, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );

describe('GenClusterTransport and GenClusterClientProxy, in process', () => {
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;
  let client: ClientProxy;

  beforeAll(async () => {
    const network = new InMemoryNetwork();
    a = await startNode(network, 'a@test', false);
    b = await startNode(network, 'b@test', true);
    c = await startNode(network, 'c@test', true);
    client = a.app.get<ClientProxy>('MATH');
    await a.cluster.waitForServers(patternTopic({ cmd: 'sum' }), { count: 2, timeoutMs: 10_000 });
    await until(
      () => a.cluster.subscribers(patternTopic('user_created')).length === 2,
      10_000,
      "a to see b's and c's event handlers",
    );
  });

  afterAll(async () => {
    for (const node of [a, b, c]) await node?.app.close();
  });

  it('names each pattern the way Nest routes it, under ms:', () => {
    expect(patternTopic({ cmd: 'sum' })).toBe('ms:{"cmd":"sum"}');
    expect(patternTopic({ b: { d: 1, c: 'x' }, a: 2 })).toBe('ms:{"a":2,"b":{"c":"x","d":1}}');
    expect(patternTopic('user_created')).toBe('ms:user_created');
    expect(patternTopic(42)).toBe('ms:42');
    const pattern = { service: 'math', cmd: 'sum', v: 2 };
    expect(patternTopic(pattern)).toBe(`ms:${transformPatternToRoute(pattern)}`);
  });

  it('announces the served patterns: request handlers and event handlers apart', () => {
    expect(a.cluster.servers(patternTopic({ cmd: 'sum' }))).toEqual(['b@test', 'c@test']);
    expect((client as GenClusterClientProxy).servers({ cmd: 'sum' })).toEqual(['b@test', 'c@test']);
    expect(a.cluster.servers(patternTopic('user_created'))).toEqual([]);
    expect(a.cluster.subscribers(patternTopic('user_created'))).toEqual(['b@test', 'c@test']);
  });

  it('answers send() with an object pattern, through GenClusterClientsModule and ClientsModule.registerAsync', async () => {
    await expect(lastValueFrom(client.send({ cmd: 'sum' }, [1, 2, 3]))).resolves.toBe(6);
    const nest = a.app.get<ClientProxy>('MATH_NEST');
    expect(nest).toBeInstanceOf(GenClusterClientProxy);
    await expect(lastValueFrom(nest.send({ cmd: 'sum' }, [4, 5]))).resolves.toBe(9);
  });

  it("runs the client's dispatch hook on each packet it sends, as Nest's send does", async () => {
    const packets: unknown[] = [];
    const hooked = client as unknown as { setOnDispatchHook(hook?: (p: unknown) => void): void };
    hooked.setOnDispatchHook(packet => packets.push(packet));
    try {
      await expect(lastValueFrom(client.send({ cmd: 'sum' }, [7]))).resolves.toBe(7);
    } finally {
      hooked.setOnDispatchHook(undefined);
    }
    expect(packets).toEqual([{ pattern: { cmd: 'sum' }, data: [7] }]);
  });

  it('replays an Observable answer as separate values', async () => {
    await expect(values(client, 'stream', {})).resolves.toEqual([1, 2, 3]);
    await expect(values(client, 'count', 0)).resolves.toEqual([]);
  });

  it('gives the RpcException error as it was thrown, and "Internal server error" for an HttpException', async () => {
    await expect(failure(client, 'fail', {})).resolves.toEqual({
      code: 'E_LIMIT',
      message: 'too many',
    });
    await expect(failure(client, 'fail.text', {})).resolves.toEqual({
      status: 'error',
      message: 'plain text',
    });
    await expect(failure(client, 'http', {})).resolves.toEqual({
      status: 'error',
      message: 'Internal server error',
    });
  });

  it('buffers up to 1,000 values, and answers a longer stream with an error saying so', async () => {
    const thousand = await values<number>(client, 'count', 1_000);
    expect(thousand).toHaveLength(1_000);
    expect(thousand[999]).toBe(999);
    await expect(failure(client, 'count', 1_001)).resolves.toEqual({
      status: 'error',
      message: 'gen-cluster: stream answer over 1000 values',
    });
  });

  it('delivers an emit() once to every member with an event handler, and never to a request handler', async () => {
    await lastValueFrom(client.emit('user_created', { id: 1 }));
    await expect(lastValueFrom(client.emit('user_created', { id: 2 }))).resolves.toBe(2);
    await until(
      () => b.seen.users.length >= 2 && c.seen.users.length >= 2,
      5_000,
      'both events on b and c',
    );
    expect(b.seen.users).toEqual([{ id: 1 }, { id: 2 }]);
    expect(c.seen.users).toEqual([{ id: 1 }, { id: 2 }]);

    // 'audit' has a @MessagePattern and an @EventPattern: the event runs only the event handler.
    await lastValueFrom(client.emit('audit', { entry: 1 }));
    await until(() => b.seen.audits.length === 1 && c.seen.audits.length === 1, 5_000, 'audits');
    expect(b.seen.auditRequests + c.seen.auditRequests).toBe(0);
    await expect(lastValueFrom(client.send('audit', {}))).resolves.toBe(1);
    expect(b.seen.auditRequests + c.seen.auditRequests).toBe(1);
  });

  it('resolves an emit() that no member subscribes to with 0', async () => {
    await expect(lastValueFrom(client.emit('nobody_listens', { id: 1 }))).resolves.toBe(0);
  });

  it('spreads send() over the serving members, and sticks a withKey() pattern to the key owner', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => lastValueFrom(client.send<string>('whoami', {}))),
    );
    expect(answers.filter(n => n === 'b@test')).toHaveLength(15);
    expect(answers.filter(n => n === 'c@test')).toHaveLength(15);

    const owners = new Set<string>();
    for (const key of Array.from({ length: 20 }, (_, i) => `user-${i}`)) {
      const expected = a.cluster.ownerOf(key, { topic: patternTopic('whoami') });
      for (let i = 0; i < 3; i++)
        await expect(lastValueFrom(client.send(withKey('whoami', key), {}))).resolves.toBe(
          expected,
        );
      owners.add(expected!);
    }
    expect([...owners].sort()).toEqual(['b@test', 'c@test']);
  });

  it('fails send() with ERR_NO_SERVER when no member serves the pattern', async () => {
    await expect(failure(client, 'nothing', {})).resolves.toMatchObject({
      code: 'ERR_NO_SERVER',
      topic: 'ms:nothing',
    });
  });

  it('stops waiting for the answer when the subscriber unsubscribes', async () => {
    const call = jest.spyOn(a.cluster, 'call');
    try {
      const subscription = client.send('slow', 2_000).subscribe({ next: () => undefined });
      await until(() => call.mock.calls.length === 1, 5_000, 'the call');
      const signal = call.mock.calls[0]![2]!.signal!;
      expect(signal.aborted).toBe(false);
      // The request reaches a server before the next test sets hooks (it would run none of them).
      await until(() => serving(b) + serving(c) === 1, 5_000, 'a server to run the slow request');
      subscription.unsubscribe();
      expect(signal.aborted).toBe(true);
      // The aborted signal is never reused: the next call gets a live one, and keeps it after.
      await expect(lastValueFrom(client.send({ cmd: 'sum' }, [1]))).resolves.toBe(1);
      const next = call.mock.calls[1]![2]!.signal!;
      expect(next).not.toBe(signal);
      expect(next.aborted).toBe(false);
      await expect(lastValueFrom(client.send({ cmd: 'sum' }, [2]))).resolves.toBe(2);
      expect(call.mock.calls[2]![2]!.signal).toBe(next);
      expect(next.aborted).toBe(false);
    } finally {
      call.mockRestore();
    }
  });

  it('refuses a pattern Nest cannot route, naming it, and unknown options', () => {
    expect(() => patternTopic({ a: { b: { c: { d: { e: { f: { g: 1 } } } } } } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
    expect(() => patternTopic('x'.repeat(2_000))).toThrow(/cannot be served over the cluster/);
    expect(() => createGenClusterTransport(a.app, { maxStreamValues: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
    expect(() => createGenClusterTransport(a.app, { cluster: 'other' })).toThrow(
      /no cluster "other"/,
    );
    expect(
      () => new GenClusterClientProxy({ cluster: a.cluster, selcet: 'random' } as never),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }));
  });

  it('answers the same envelopes with and without processing hooks (the direct path when none is set)', async () => {
    const cases: [unknown, unknown][] = [
      [{ cmd: 'sum' }, [1, 2, 3]],
      ['stream', {}],
      ['count', 0],
      ['count', 1_001],
      ['fail', {}],
      ['fail.text', {}],
      ['http', {}],
    ];
    const envelopes = () =>
      Promise.all(cases.map(([pattern, data]) => a.cluster.call(patternTopic(pattern), data)));
    const servers = [b.transport!, c.transport!] as unknown as Record<string, () => unknown>[];
    const spies = servers.flatMap(t => [
      jest.spyOn(t, 'handleRequest'),
      jest.spyOn(t, 'transformToObservable'),
    ]);
    let direct: unknown[];
    try {
      direct = await envelopes();
      // No hook: neither Nest's reply queue nor an Observable for a plain value.
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(direct).toEqual([
      { r: [6] },
      { r: [1, 2, 3] },
      { r: [] },
      { e: { status: 'error', message: 'gen-cluster: stream answer over 1000 values' } },
      { e: { code: 'E_LIMIT', message: 'too many' } },
      { e: { status: 'error', message: 'plain text' } },
      { e: { status: 'error', message: 'Internal server error' } },
    ]);
    let hooked = 0;
    for (const { transport } of [b, c])
      transport!.setOnProcessingStartHook((_id, _context, done) => {
        hooked++;
        return done();
      });
    await expect(envelopes()).resolves.toEqual(direct);
    expect(hooked).toBe(cases.length);
  });

  it('runs the processing hooks (as OpenTelemetry sets them) around each request, with the same answers', async () => {
    const started: [symbol | number, unknown][] = [];
    const ended: unknown[] = [];
    for (const { transport } of [b, c]) {
      transport!.setOnProcessingStartHook((id, context, done) => {
        started.push([id as symbol, context]);
        return done();
      });
      transport!.setOnProcessingEndHook((_id, context) => ended.push(context));
    }
    await expect(lastValueFrom(client.send({ cmd: 'sum' }, [1, 2, 3]))).resolves.toBe(6);
    await expect(values(client, 'stream', {})).resolves.toEqual([1, 2, 3]);
    await expect(failure(client, 'fail', {})).resolves.toEqual({
      code: 'E_LIMIT',
      message: 'too many',
    });
    await expect(failure(client, 'count', 1_001)).resolves.toEqual({
      status: 'error',
      message: 'gen-cluster: stream answer over 1000 values',
    });
    await until(() => ended.length === 4, 5_000, 'four end hooks');
    expect(started).toHaveLength(4);
    const [id, context] = started[0]!;
    expect(id).toBe(GEN_CLUSTER_TRANSPORT);
    expect(context).toBeInstanceOf(GenClusterContext);
    expect((context as GenClusterContext).getPattern()).toBe('{"cmd":"sum"}');
    expect((context as GenClusterContext).getFrom()).toBe('a@test');
    expect((context as GenClusterContext).getMessageContext()).toMatchObject({
      topic: 'ms:{"cmd":"sum"}',
      kind: 'request',
    });
    expect(ended[0]).toBe(context);
  });
});

describe('GenClusterTransport, an Observable answer that never completes', () => {
  let network: InMemoryNetwork;
  let a: TestNode;
  let b: TestNode;

  beforeEach(async () => {
    network = new InMemoryNetwork();
    a = await startNode(network, 'a@test', false);
    b = await startNode(network, 'b@test', true);
    await a.cluster.waitForServers(patternTopic('forever'), { timeoutMs: 10_000 });
  });

  afterEach(async () => {
    for (const node of [a, b]) await node?.app.close();
  });

  it('is unsubscribed when its requester goes away, so the server is idle again', async () => {
    const client = a.app.get<ClientProxy>('MATH');
    const answer = failure(client, 'forever', 0);
    await until(() => b.seen.foreverStarted === 1 && serving(b) === 1, 10_000, 'b to serve');
    network.partition('a@test', 'b@test');
    await until(() => b.seen.foreverEnded === 1, 10_000, 'the stream to be torn down');
    await until(() => serving(b) === 0, 10_000, 'b to be idle');
    expect(await answer).toMatchObject({ code: 'ERR_NODE_DOWN' });
  });

  it('is unsubscribed when the transport closes, and the caller gets an error', async () => {
    const client = a.app.get<ClientProxy>('MATH');
    const answer = failure(client, 'forever', 0);
    await until(() => b.seen.foreverStarted === 1, 10_000, 'b to serve');
    b.transport!.close();
    expect(await answer).toEqual({
      status: 'error',
      message: expect.stringContaining('the answer was stopped') as unknown,
    });
    expect(b.seen.foreverEnded).toBe(1);
    expect(serving(b)).toBe(0);
  });
});
