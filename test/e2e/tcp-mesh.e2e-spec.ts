import { type Server, type Socket, createConnection, createServer } from 'node:net';
import type { Connection } from '../../src/distribution/tcp/connection.js';
import { FrameType, encodeFrame } from '../../src/distribution/tcp/frame-codec.js';
import type { Mesh } from '../../src/distribution/tcp/mesh.js';
import {
  type ClusterEvent,
  GenCluster,
  type NodeDownEvent,
  StaticDiscovery,
  TcpDist,
} from '../../src/index.js';
import {
  type MeshNode,
  startInProcess,
  startMesh,
  stopInProcess,
  stopMeshes,
  type TestNode,
  wireAcceptor,
  wireInitiator,
} from '../support/in-process.js';
import { until } from '../support/wait.js';

const addr = (node: TestNode, name: string) => `${name}@127.0.0.1:${node.port}`;
const connectFailures = (node: TestNode) =>
  node.events.filter(
    (e): e is Extract<ClusterEvent, { type: 'connectFailed' }> => e.type === 'connectFailed',
  );

describe('TCP mesh (real sockets, one process)', () => {
  afterEach(stopInProcess);

  it('connects two nodes both ways and reports the peer with its listen port', async () => {
    const b = await startInProcess('b');
    const a = await startInProcess('a', [addr(b, 'b')]);
    await until(
      () => a.cluster.nodes().length === 1 && b.cluster.nodes().length === 1,
      5_000,
      'a link',
    );
    expect(a.cluster.nodes()).toEqual(['b@127.0.0.1']);
    expect(b.cluster.nodes()).toEqual(['a@127.0.0.1']);
    expect(b.dist.members()).toEqual([
      { node: 'a@127.0.0.1', port: a.port, meta: { startedAt: a.dist.startedAt } },
    ]);
  });

  it('refuses a wrong cookie in both directions, and nobody becomes a member', async () => {
    const b = await startInProcess('b', [], { cookie: 'cookie-of-b' });
    const a = await startInProcess('a', [addr(b, 'b')], { cookie: 'cookie-of-a' });
    await until(() => connectFailures(a).length >= 1, 5_000, 'a failed connect on a');
    expect((connectFailures(a)[0]!.error as { code?: string }).code).toBe('ERR_BAD_COOKIE');
    await until(
      () => b.logs.some(l => l.startsWith('warn') && /cookie/i.test(l)),
      5_000,
      'b to log the refusal',
    );
    // and the other way round
    b.discovery.answer = [addr(a, 'a')];
    await b.cluster.refresh();
    await until(() => connectFailures(b).length >= 1, 5_000, 'a failed connect on b');
    expect((connectFailures(b)[0]!.error as { code?: string }).code).toBe('ERR_BAD_COOKIE');
    expect(a.cluster.nodes()).toEqual([]);
    expect(b.cluster.nodes()).toEqual([]);
    expect([...a.logs, ...b.logs].join('\n')).not.toMatch(/cookie-of-/);
  });

  it('refuses a peer that answers with another name than the one dialled', async () => {
    const c = await startInProcess('c');
    const a = await startInProcess('a', [`b@127.0.0.1:${c.port}`]);
    await until(() => connectFailures(a).length >= 1, 5_000, 'the refusal');
    expect((connectFailures(a)[0]!.error as { code?: string }).code).toBe('ERR_NAME_MISMATCH');
    expect(a.cluster.nodes()).toEqual([]);
    expect(c.cluster.nodes()).toEqual([]);
  });

  it('keeps the incumbent and gives a newcomer with the same name a duplicate-name error', async () => {
    const a = await startInProcess('a');
    const b1 = await startInProcess('b', [addr(a, 'a')]);
    await until(() => a.cluster.nodes().length === 1, 5_000, 'b1 to join');
    const b2 = await startInProcess('b', [addr(a, 'a')]);
    await until(() => connectFailures(b2).length >= 1, 5_000, 'b2 to be refused');
    expect((connectFailures(b2)[0]!.error as { code?: string }).code).toBe(
      'ERR_DUPLICATE_NODE_NAME',
    );
    expect(a.dist.members()).toEqual([
      { node: 'b@127.0.0.1', port: b1.port, meta: { startedAt: b1.dist.startedAt } },
    ]);
    expect(b1.cluster.nodes()).toEqual(['a@127.0.0.1']);
  });

  it('resolves simultaneous connects to exactly one link, every time', async () => {
    for (let i = 0; i < 25; i++) {
      const x = await startInProcess(`x${i}`, [], {}, { refreshIntervalMs: 60_000 });
      const y = await startInProcess(`y${i}`, [], {}, { refreshIntervalMs: 60_000 });
      x.discovery.answer = [addr(y, `y${i}`)];
      y.discovery.answer = [addr(x, `x${i}`)];
      const skew = Math.floor(Math.random() * 3);
      const first = x.cluster.refresh();
      if (skew) await new Promise(resolve => setTimeout(resolve, skew));
      await Promise.all([first, y.cluster.refresh()]);
      await until(
        () => x.cluster.nodes().length === 1 && y.cluster.nodes().length === 1,
        5_000,
        `link ${i}`,
      );
      const onX = x.dist.linkAddress(`y${i}@127.0.0.1`)!;
      const onY = y.dist.linkAddress(`x${i}@127.0.0.1`)!;
      expect(onX.localPort).toBe(onY.remotePort);
      expect(onX.remotePort).toBe(onY.localPort);
      expect(x.events.filter(e => e.type === 'nodeDown')).toEqual([]);
      await stopInProcess();
    }
  });

  it('connects a cluster through a single seed (transitive connect)', async () => {
    const seed = await startInProcess('seed');
    const others = await Promise.all(
      ['n1', 'n2', 'n3', 'n4'].map(n => startInProcess(n, [addr(seed, 'seed')])),
    );
    const all = [seed, ...others];
    await until(
      () => all.every(n => n.cluster.nodes().length === 4),
      10_000,
      'a full mesh of five',
    );
    expect(others[0]!.cluster.nodes()).toEqual([
      'n2@127.0.0.1',
      'n3@127.0.0.1',
      'n4@127.0.0.1',
      'seed@127.0.0.1',
    ]);
  });

  it('keeps handlers registered before the dist starts, so a constructor can register them', async () => {
    const dist = new TcpDist({
      cookie: 'in-process-cookie',
      heartbeatMs: 200,
      failureTimeoutMs: 1_000,
      portMapper: false,
    });
    const off = dist.messaging.on('early', () => 'registered before start');
    expect(() => dist.messaging.on('early', () => 'again')).toThrow(
      expect.objectContaining({ code: 'ERR_DUPLICATE_HANDLER' }),
    );
    dist.messaging.on('removed', () => 'never');
    const cluster = new GenCluster({
      node: 'b@127.0.0.1',
      discovery: new StaticDiscovery([]),
      dist,
      refreshIntervalMs: 'infinity',
    });
    await cluster.start();
    try {
      const a = await startInProcess('a', [`b@127.0.0.1:${dist.port}`]);
      await until(() => a.cluster.nodes().length === 1, 5_000, 'a to reach b');
      await expect(a.dist.messaging.request('b@127.0.0.1', 'early', null)).resolves.toBe(
        'registered before start',
      );
      off();
      await expect(a.dist.messaging.request('b@127.0.0.1', 'early', null)).rejects.toMatchObject({
        code: 'ERR_NO_HANDLER',
      });
    } finally {
      await cluster.stop();
    }
  });

  it('keeps a hidden (tool) connection out of membership and out of transitive connect', async () => {
    const b = await startInProcess('b');
    const a = await startInProcess('a', [addr(b, 'b')]);
    await until(() => a.cluster.nodes().length === 1, 5_000, 'a and b to link');
    const tool = await startInProcess('tool', [addr(a, 'a')], { hidden: true });
    await until(() => tool.cluster.nodes().length === 1, 5_000, 'the tool to reach a');
    a.dist.messaging.on('status', () => 'fine');
    await expect(tool.dist.messaging.request('a@127.0.0.1', 'status', null)).resolves.toBe('fine');
    expect(a.cluster.nodes()).toEqual(['b@127.0.0.1']);
    expect(a.events.some(e => 'node' in e && e.node === 'tool@127.0.0.1')).toBe(false);
    expect(tool.cluster.nodes()).toEqual(['a@127.0.0.1']);
    expect(b.cluster.nodes()).toEqual(['a@127.0.0.1']);
  });

  it('aborts the signal of a request a hidden (tool) node was having handled when the tool goes away', async () => {
    const a = await startInProcess('a');
    const tool = await startInProcess('tool', [addr(a, 'a')], { hidden: true });
    await until(() => tool.cluster.nodes().length === 1, 5_000, 'the tool to reach a');
    let signal: AbortSignal | undefined;
    a.dist.messaging.on('long', (_payload, context) => {
      signal = context.signal;
      return new Promise(() => undefined);
    });
    const pending = tool.dist.messaging.request('a@127.0.0.1', 'long', null, { timeoutMs: 30_000 });
    pending.catch(() => undefined);
    await until(() => signal !== undefined, 5_000, 'the handler to run');
    expect(signal!.aborted).toBe(false);
    await tool.cluster.stop();
    await until(() => signal!.aborted, 5_000, 'the signal to abort');
    expect(signal!.reason).toMatchObject({ code: 'ERR_NODE_DOWN', node: 'tool@127.0.0.1' });
  });

  it('reports a graceful stop as reason "left"', async () => {
    const b = await startInProcess('b');
    const a = await startInProcess('a', [addr(b, 'b')]);
    await until(() => a.cluster.nodes().length === 1, 5_000, 'a link');
    await b.cluster.stop();
    await until(() => a.events.some(e => e.type === 'nodeDown'), 5_000, 'the nodeDown');
    expect(a.events.find((e): e is NodeDownEvent => e.type === 'nodeDown')?.reason).toBe('left');
  });

  it('reports a closed socket as down at once', async () => {
    const b = await startInProcess('b');
    const a = await startInProcess('a', [addr(b, 'b')]);
    await until(() => a.cluster.nodes().length === 1, 5_000, 'a link');
    const started = performance.now();
    b.dist.dropLinkForTest('a@127.0.0.1');
    await until(() => a.events.some(e => e.type === 'nodeDown'), 2_000, 'the nodeDown', 1);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(a.events.find((e): e is NodeDownEvent => e.type === 'nodeDown')?.reason).toBe(
      'connectionClosed',
    );
  });

  it('replaces a restarted node: nodeDown for the old incarnation, then nodeUp for the new, and fails requests pending on the old', async () => {
    // default timings (5 s failure timeout), so the liveness ping (2 s) decides, not the heartbeat
    const timing = { heartbeatMs: 1_000, failureTimeoutMs: 5_000 };
    const a = await startInProcess('a', [], timing);
    const b1 = await startInProcess('b', [addr(a, 'a')], timing);
    await until(() => a.cluster.nodes().length === 1, 5_000, 'b1 to join');
    b1.dist.messaging.on('never', () => new Promise(() => undefined));
    const pending = a.dist.messaging.request('b@127.0.0.1', 'never', null, { timeoutMs: 30_000 });
    const outcome = pending.then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    // b restarts: its process stopped answering (its socket is still open), a new b comes up
    b1.dist.freezeForTest();
    const b2 = await startInProcess('b', [addr(a, 'a')], timing);
    await until(() => b2.cluster.nodes().length === 1, 10_000, 'b2 to replace b1');
    await expect(outcome).resolves.toBe('ERR_NODE_DOWN');
    const forB = a.events
      .filter(e => 'node' in e && e.node === 'b@127.0.0.1')
      .map(e => (e.type === 'nodeDown' ? `down:${e.reason}` : e.type));
    expect(forB).toEqual(['nodeUp', 'down:restarted', 'nodeUp']);
    expect(a.dist.members()).toEqual([
      { node: 'b@127.0.0.1', port: b2.port, meta: { startedAt: b2.dist.startedAt } },
    ]);
  });

  it('refuses peers whose heartbeat settings differ', async () => {
    const b = await startInProcess('b', [], { heartbeatMs: 300, failureTimeoutMs: 1_500 });
    const a = await startInProcess('a', [addr(b, 'b')]);
    await until(() => connectFailures(a).length >= 1, 5_000, 'the refusal');
    expect((connectFailures(a)[0]!.error as { code?: string }).code).toBe('ERR_TIMING_MISMATCH');
  });

  it('closes a silent unauthenticated connection at the handshake deadline, and caps them per address', async () => {
    const a = await startInProcess('a', [], {
      handshakeTotalTimeoutMs: 300,
      handshakeStepTimeoutMs: 200,
      maxPendingHandshakesPerIp: 2,
    });
    const sockets = [0, 1, 2].map(() => createConnection({ host: '127.0.0.1', port: a.port }));
    const closed = sockets.map(
      s => new Promise<number>(resolve => s.on('close', () => resolve(performance.now()))),
    );
    for (const s of sockets) s.on('error', () => undefined);
    const started = performance.now();
    const times = await Promise.all(closed);
    const sorted = times.map(t => t - started).sort((x, y) => x - y);
    expect(sorted[0]).toBeLessThan(150); // the third one is over the per-address cap: closed at once
    expect(sorted[2]).toBeGreaterThanOrEqual(150); // the others wait for the deadline
    expect(sorted[2]).toBeLessThan(5_000);
  });

  describe('messaging', () => {
    let a: TestNode;
    let b: TestNode;
    let c: TestNode;

    beforeEach(async () => {
      b = await startInProcess('b');
      c = await startInProcess('c');
      a = await startInProcess('a', [addr(b, 'b'), addr(c, 'c')]);
      await until(() => [a, b, c].every(n => n.cluster.nodes().length === 2), 5_000, 'a full mesh');
    });

    it('round-trips requests with structured payloads', async () => {
      b.dist.messaging.on('echo', (payload, { from }) => ({ payload, from }));
      const when = new Date(1_700_000_000_000);
      const sent = { when, map: new Map([['k', new Set([1, 2])]]), bytes: Buffer.from([1, 2, 3]) };
      const reply = await a.dist.messaging.request<{ payload: typeof sent; from: string }>(
        'b@127.0.0.1',
        'echo',
        sent,
      );
      expect(reply.from).toBe('a@127.0.0.1');
      expect(reply.payload.when).toEqual(when);
      expect(reply.payload.map.get('k')).toEqual(new Set([1, 2]));
      expect(Buffer.from(reply.payload.bytes)).toEqual(Buffer.from([1, 2, 3]));
    });

    it('takes node names in any spelling', async () => {
      b.dist.messaging.on('who', () => 'b');
      await expect(a.dist.messaging.request(`b@127.0.0.1:${b.port}`, 'who', null)).resolves.toBe(
        'b',
      );
      await expect(a.dist.messaging.request('B@127.0.0.1', 'who', null)).rejects.toMatchObject({
        code: 'ERR_NODE_DOWN', // names are case-sensitive, hosts are not
      });
    });

    it('broadcasts to every member', async () => {
      const got: string[] = [];
      for (const n of [b, c])
        n.dist.messaging.on('hello', (_, { from }) => void got.push(`${n.cluster.self}<-${from}`));
      expect(a.dist.messaging.broadcast('hello', 1)).toBe(2);
      await until(() => got.length === 2, 2_000, 'both deliveries');
      expect(got.sort()).toEqual(['b@127.0.0.1<-a@127.0.0.1', 'c@127.0.0.1<-a@127.0.0.1']);
    });

    it('times out a request nobody answers, and types a remote error', async () => {
      b.dist.messaging.on('slow', () => new Promise(() => undefined));
      b.dist.messaging.on('fail', () => {
        throw Object.assign(new Error('no such order'), { code: 'E_NO_ORDER' });
      });
      await expect(
        a.dist.messaging.request('b@127.0.0.1', 'slow', 1, { timeoutMs: 100 }),
      ).rejects.toMatchObject({
        code: 'ERR_REQUEST_TIMEOUT',
      });
      await expect(a.dist.messaging.request('b@127.0.0.1', 'fail', 1)).rejects.toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        message: expect.stringContaining('no such order'),
      });
    });

    it('fails a request at once when its node goes down', async () => {
      b.dist.messaging.on('slow', () => new Promise(() => undefined));
      const pending = a.dist.messaging.request('b@127.0.0.1', 'slow', 1, { timeoutMs: 30_000 });
      const started = performance.now();
      void b.cluster.stop();
      await expect(pending).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' });
      expect(performance.now() - started).toBeLessThan(2_000);
    });

    it('carries a 32 MiB payload while 1 KiB requests keep flowing', async () => {
      // The default timings (heartbeat 1 s, failure timeout 5 s), not this suite's short ones: in
      // one process both ends share a loop, and on a loaded 2-core machine a 1 s failure timeout
      // is shorter than the scheduling gaps (CI saw a heartbeat timeout at load 14).
      const timing = { heartbeatMs: 1_000, failureTimeoutMs: 5_000 };
      const bigB = await startInProcess('big-b', [], timing);
      const bigA = await startInProcess('big-a', [addr(bigB, 'big-b')], timing);
      await until(() => bigA.cluster.nodes().length === 1, 5_000, 'big-a to reach big-b');
      const [a, b] = [bigA, bigB];
      let bigSize = 0;
      b.dist.messaging.on('big', (payload: Buffer) => {
        bigSize = payload.length;
        return payload.length;
      });
      b.dist.messaging.on('small', (payload: Buffer) => payload.length);
      const big = a.dist.messaging.request<number>(
        'big-b@127.0.0.1',
        'big',
        Buffer.alloc(32 * 1024 * 1024, 7),
        { timeoutMs: 60_000 },
      );
      let smallDone = 0;
      let smallWhileBig = 0;
      let bigDone = false;
      void big.then(() => (bigDone = true));
      while (!bigDone) {
        await a.dist.messaging.request<number>('big-b@127.0.0.1', 'small', Buffer.alloc(1024), {
          timeoutMs: 10_000,
        });
        smallDone++;
        if (!bigDone) smallWhileBig++;
      }
      expect(await big).toBe(32 * 1024 * 1024);
      expect(bigSize).toBe(32 * 1024 * 1024);
      expect(smallWhileBig).toBeGreaterThan(0);
      expect(smallDone).toBeGreaterThan(0);
    });

    it('fails fast with a typed error when a slow consumer fills its queue, without affecting other peers', async () => {
      b.dist.freezeForTest(); // b stops reading: the kernel buffers fill, then a's queue to b
      // 1 MiB Buffers pass through without a copy, so the queue (2 × maxMessageBytes) fills in
      // about 130 sends, well before a declares the frozen b down (failure timeout 1 s here)
      const chunk = Buffer.alloc(1024 * 1024);
      let queueFull: { code?: string } | undefined;
      for (let i = 0; i < 10_000 && !queueFull; i++) {
        try {
          a.dist.messaging.send('b@127.0.0.1', 'sink', chunk);
        } catch (error) {
          queueFull = error as { code?: string };
        }
        if (i % 64 === 0) await new Promise(resolve => setImmediate(resolve));
      }
      expect(queueFull?.code).toBe('ERR_QUEUE_FULL');
      c.dist.messaging.on('ping', () => 'pong');
      await expect(a.dist.messaging.request('c@127.0.0.1', 'ping', 1)).resolves.toBe('pong');
    });
  });
});

// --- the link layer on its own: bare meshes and peers speaking the wire protocol ---------------

/** The dials in progress of a mesh (private state, read to prove none is left stuck). */
const dialsOf = (mesh: Mesh) => (mesh as unknown as { dialing: Map<string, unknown> }).dialing;
const linkTo = (node: MeshNode, peer: string) => node.mesh.connectionTo(peer)!;
const tick = () => encodeFrame(FrameType.Tick);

/** The outcome of `promise`, or a failure if it is still pending after `ms` (a deadline). */
async function outcome<T>(promise: Promise<T>, ms = 5_000): Promise<{ value?: T; error?: Error }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        value => ({ value }),
        (error: Error) => ({ error }),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fragment frame of message `id`. */
function fragment(id: number, data: Buffer, last: boolean): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 0);
  header[4] = last ? 1 : 0;
  return encodeFrame(FrameType.DataFragment, Buffer.concat([header, data]));
}

describe('TCP mesh link layer (bare meshes, wire-level peers, one process)', () => {
  const handles: (Server | Socket)[] = [];

  /** A listener that accepts connections and never answers (a stopped process). */
  async function silentListener(): Promise<number> {
    const server = createServer(socket => {
      handles.push(socket);
      socket.on('error', () => undefined);
    });
    handles.push(server);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise(resolve => server.close(resolve));
    return port;
  }

  async function linked(a: MeshNode, b: MeshNode): Promise<void> {
    await expect(
      a.mesh.connect({ node: b.name, port: b.port }, AbortSignal.timeout(5_000)),
    ).resolves.toBe(true);
    await until(() => b.mesh.members().length > 0, 5_000, 'both ends to link');
  }

  afterEach(async () => {
    await stopMeshes();
    const all = handles.splice(0);
    for (const handle of all) if ('destroy' in handle) handle.destroy();
    await Promise.all(
      all
        .filter((h): h is Server => !('destroy' in h))
        .map(h => new Promise(resolve => h.close(resolve))),
    );
  });

  it('settles every dial, leaving none stuck: abort during the DNS lookup, an aborted signal, no port, a bad port', async () => {
    let release!: () => void;
    const gate = new Promise<void>(resolve => (release = resolve));
    const b = await startMesh('b@slow.example');
    const a = await startMesh('a@slow.example', {
      lookup: async () => {
        await gate;
        return ['127.0.0.1'];
      },
    });
    const controller = new AbortController();
    const first = a.mesh.connect({ node: b.name, port: b.port }, controller.signal);
    controller.abort(new Error('given up'));
    expect((await outcome(first)).error?.message).toBe('given up');
    expect(dialsOf(a.mesh).size).toBe(0);
    release();
    // the next dial is a fresh one, not the aborted one still waiting
    expect(
      await outcome(a.mesh.connect({ node: b.name, port: b.port }, AbortSignal.timeout(5_000))),
    ).toEqual({ value: true });

    const c = await startMesh('c');
    const aborted = await outcome(
      c.mesh.connect({ node: b.name, port: b.port }, AbortSignal.abort()),
    );
    expect(aborted.error?.message).toBeTruthy();
    const noPort = await outcome(c.mesh.connect({ node: 'x@127.0.0.1' }));
    expect(noPort.error?.message).toMatch(/No port known/);
    const badPort = await outcome(c.mesh.connect({ node: 'x@127.0.0.1', port: 70_000 }));
    expect(badPort.error?.message).toMatch(/Port/);
    expect(dialsOf(c.mesh).size).toBe(0);
  });

  it('survives a peers message with bad entries, and dials at most 16 learnt peers at once', async () => {
    const a = await startMesh('a');
    const b = await startMesh('b');
    await linked(a, b);
    const stuck = await silentListener();
    const bad = [
      { node: 'x1@127.0.0.1', port: 70_000 },
      { node: 'x2@127.0.0.1', port: 0 },
      { node: 'x3@127.0.0.1', port: 1.5 },
      { node: 'x4@127.0.0.1', port: '80' },
      { node: 'x5@127.0.0.1:81', port: 82 },
      { node: 'not a node', port: 80 },
      null,
      42,
    ];
    const good = Array.from({ length: 40 }, (_, i) => ({ node: `n${i}@127.0.0.1`, port: stuck }));
    linkTo(b, a.name).sendControl({ type: 'peers', peers: [...bad, ...good] });
    await until(() => dialsOf(a.mesh).size === 16, 5_000, '16 transitive dials');
    expect(a.logs.filter(l => l.includes('Ignored a peer entry'))).toHaveLength(5);
    expect(a.logs.some(l => /24 peer\(s\) learnt from b@127.0.0.1 not dialled/.test(l))).toBe(true);
    expect([...dialsOf(a.mesh).keys()].every(n => n.startsWith('n'))).toBe(true);
    // the process is alive, the link too
    expect(a.mesh.members()).toEqual([{ node: b.name, port: b.port }]);
  });

  it('reads frames that follow the last handshake frame in the same chunk with the established limit, and delivers them after nodeUp', async () => {
    const a = await startMesh('a');
    const b = await wireAcceptor({ name: 'b@127.0.0.1', listenPort: 1 }, undefined, () => [
      encodeFrame(FrameType.Data, Buffer.alloc(20_000, 1)),
    ]);
    expect(await outcome(a.mesh.connect({ node: 'b@127.0.0.1', port: b.port }))).toEqual({
      value: true,
    });
    await until(() => a.messages.length === 1, 5_000, 'the early message');
    expect(a.events).toEqual(['up b@127.0.0.1', 'message b@127.0.0.1 20000']);
  });

  it('does not report a link that closed before it was adopted as connected', async () => {
    const a = await startMesh('a', { maxMessageBytes: 4_096 });
    // more than this side holds before it adopts the link: closed within the handshake's chunk
    const b = await wireAcceptor({ name: 'b@127.0.0.1', listenPort: 1 }, undefined, () => [
      encodeFrame(FrameType.Data, Buffer.alloc(5_000, 1)),
    ]);
    expect(await outcome(a.mesh.connect({ node: 'b@127.0.0.1', port: b.port }))).toEqual({
      value: false,
    });
    expect(a.events).toEqual([]);
    expect(a.mesh.members()).toEqual([]);
    expect(dialsOf(a.mesh).size).toBe(0);
  });

  it('writes the queued messages before the goodbye when leaving, and reads as "left" and "stopped"', async () => {
    const a = await startMesh('a');
    const b = await startMesh('b');
    await linked(a, b);
    const link = linkTo(a, b.name);
    for (let i = 0; i < 100; i++) link.enqueue([Buffer.alloc(10, i)]);
    link.enqueue([Buffer.alloc(1_024), Buffer.alloc(3 * 1024 * 1024 - 1_024, 7)]);
    await a.mesh.leave();
    await until(() => b.events.includes(`down ${a.name} left`), 5_000, 'the goodbye');
    expect(b.messages.map(m => m.bytes.length)).toEqual([
      ...Array<number>(100).fill(10),
      3 * 1024 * 1024,
    ]);
    expect(b.messages[100]!.bytes.subarray(-1)[0]).toBe(7);
    await until(() => a.events.length > 1, 5_000, 'the local close');
    expect(a.events).toEqual([`up ${b.name}`, `down ${b.name} stopped`]);
    expect(a.logs.filter(l => l.startsWith('warn'))).toEqual([]);
  });

  it('does not declare healthy peers down when this process itself stalled longer than the failure timeout', async () => {
    const a = await startMesh('a');
    const b = await startMesh('b');
    await linked(a, b);
    // Each side's peer wrote just before the stall; nothing is read while the loop is blocked.
    linkTo(a, b.name).socket.write(tick());
    linkTo(b, a.name).socket.write(tick());
    const end = performance.now() + 1_300; // failureTimeoutMs is 1 000
    while (performance.now() < end);
    expect(await linkTo(a, b.name).ping(2_000)).toBe(true);
    expect(await linkTo(b, a.name).ping(2_000)).toBe(true);
    expect([...a.events, ...b.events].filter(e => e.startsWith('down'))).toEqual([]);
  });

  it('resolves a ping false when the link fails, removes its listener, and counts any bytes as alive', async () => {
    const a = await startMesh('a', { heartbeatMs: 1_000, failureTimeoutMs: 5_000 });
    const b = await startMesh('b', { heartbeatMs: 1_000, failureTimeoutMs: 5_000 });
    await linked(a, b);
    const link = linkTo(a, b.name);
    const before = link.socket.listenerCount('close');
    for (let i = 0; i < 20; i++) expect(await link.ping(2_000)).toBe(true);
    expect(link.socket.listenerCount('close')).toBe(before);
    b.mesh.freeze();
    const pending = link.ping(5_000);
    link.close('connectionClosed');
    expect(await outcome(pending)).toEqual({ value: false });

    // a peer that never answers pings, but sends something meanwhile, is alive
    let wire: { write(frames: Buffer[]): void } | undefined;
    const timing = { heartbeatMs: 1_000, failureTimeoutMs: 5_000 };
    const c = await wireAcceptor(
      { name: 'c@127.0.0.1', listenPort: 1, ...timing },
      peer => (wire = peer),
    );
    await a.mesh.connect({ node: 'c@127.0.0.1', port: c.port });
    await until(() => wire !== undefined, 5_000, 'the wire peer');
    const toC = linkTo(a, 'c@127.0.0.1');
    expect(await toC.ping(200)).toBe(false);
    const alive = toC.ping(300);
    wire!.write([tick()]);
    expect(await alive).toBe(true);
  });

  it('reports a refused dial as ERR_CONNECT_FAILED with the system error, naming the address', async () => {
    const a = await startMesh('a');
    const port = await freePort();
    const { error } = await outcome(a.mesh.connect({ node: 'b@127.0.0.1', port }));
    expect(error).toMatchObject({
      code: 'ERR_CONNECT_FAILED',
      node: 'b@127.0.0.1',
      cause: { code: 'ECONNREFUSED' },
    });
    expect(error!.message).toContain(`127.0.0.1:${port}`);
    expect(error!.message).not.toContain('?');
  });

  it('answers a flood of pings with few pongs', async () => {
    const a = await startMesh('a');
    const frames: { type: number }[][] = [];
    let wire: { write(frames: Buffer[]): void } | undefined;
    const b = await wireAcceptor({ name: 'b@127.0.0.1', listenPort: 1 }, peer => {
      wire = peer;
      frames.push(peer.frames);
    });
    await a.mesh.connect({ node: 'b@127.0.0.1', port: b.port });
    await until(() => wire !== undefined, 5_000, 'the wire peer');
    const pongs = () => frames[0]!.filter(f => f.type === FrameType.Pong).length;
    wire!.write([
      ...Array.from({ length: 10_000 }, () => encodeFrame(FrameType.Ping)),
      encodeFrame(FrameType.Data, Buffer.from('x')),
    ]);
    await until(() => a.messages.length === 1 && pongs() >= 1, 5_000, 'the pings to be read');
    const settled = pongs();
    wire!.write([encodeFrame(FrameType.Ping)]);
    await until(() => pongs() > settled, 5_000, 'the last pong');
    expect(pongs()).toBeLessThan(100);
  });

  it('bounds the bytes of all reassemblies together at maxMessageBytes', async () => {
    const a = await startMesh('a', { maxMessageBytes: 64 * 1024 });
    let wire: { write(frames: Buffer[]): void } | undefined;
    const b = await wireAcceptor({ name: 'b@127.0.0.1', listenPort: 1 }, peer => (wire = peer));
    await a.mesh.connect({ node: 'b@127.0.0.1', port: b.port });
    await until(() => wire !== undefined, 5_000, 'the wire peer');
    // three messages of 40 KiB each, none finished: each within the bound, together beyond it
    for (const id of [1, 2, 3]) wire!.write([fragment(id, Buffer.alloc(30 * 1024), false)]);
    await until(
      () => a.events.includes('down b@127.0.0.1 connectionClosed'),
      5_000,
      'the link to close',
    );
    expect(a.logs.some(l => /maxMessageBytes/.test(l))).toBe(true);
  });

  it('never has more large messages in fragments at once than the peer reassembles', async () => {
    const limits = {
      maxMessageBytes: 64 * 1024,
      maxFramePayloadBytes: 4_096,
      maxQueueBytes: 1024 * 1024,
    };
    const a = await startMesh('a', limits);
    const b = await startMesh('b', limits);
    await linked(a, b);
    const link = linkTo(a, b.name);
    // the first message of a turn is written at once; the rest of the turn is scheduled together
    link.enqueue([Buffer.from('first')]);
    for (const fill of [1, 2, 3]) link.enqueue([Buffer.alloc(40 * 1024, fill)]);
    link.enqueue([Buffer.from('small')]);
    await until(() => b.messages.length === 5, 5_000, 'all five messages');
    // the small one overtakes; the large ones start, and so arrive, in the order they were sent
    expect(b.messages.map(m => `${m.bytes.length}:${m.bytes[0]}`)).toEqual([
      '5:102',
      '5:115',
      '40960:1',
      '40960:2',
      '40960:3',
    ]);
    expect(b.events.filter(e => e.startsWith('down'))).toEqual([]);
  });

  it('bounds the control queue of a link that does not drain', async () => {
    const a = await startMesh('a');
    const b = await startMesh('b');
    await linked(a, b);
    const link = linkTo(a, b.name);
    link.freeze();
    for (let i = 0; i < 2_000; i++) link.sendControl({ type: 'noise', pad: 'x'.repeat(4_096) });
    const queued = (link as unknown as { controlBytes: number }).controlBytes;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('moves the unsent messages of a link replaced in a simultaneous connect to the winning link', async () => {
    const a = await startMesh('a');
    const identity = { name: 'b@127.0.0.1', incarnation: 'b-1', listenPort: 1 };
    const b = await wireAcceptor(identity);
    await a.mesh.connect({ node: 'b@127.0.0.1', port: b.port }); // the link a started: the loser
    const loser: Connection = linkTo(a, 'b@127.0.0.1');
    loser.freeze(); // nothing leaves it any more
    for (const text of ['one', 'two', 'three']) loser.enqueue([Buffer.from(text)]);
    // b's own link (b is the greater name) gets through and replaces it
    const winner = await wireInitiator(a.port, identity, a.name);
    await until(
      () => winner.frames.filter(f => f.type === FrameType.Data).length === 3,
      5_000,
      'the moved messages',
    );
    expect(
      winner.frames.filter(f => f.type === FrameType.Data).map(f => f.payload.toString()),
    ).toEqual(['one', 'two', 'three']);
    expect(loser.isClosed).toBe(true);
    expect(linkTo(a, 'b@127.0.0.1')).not.toBe(loser);
    expect(a.events).toEqual(['up b@127.0.0.1']);
  });
});
