import { createConnection } from 'node:net';
import type { ClusterEvent, NodeDownEvent } from '../../src/index.js';
import { startInProcess, stopInProcess, type TestNode } from '../support/in-process.js';
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
    expect(b.dist.members()).toEqual([{ node: 'a@127.0.0.1', port: a.port }]);
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
    expect(a.dist.members()).toEqual([{ node: 'b@127.0.0.1', port: b1.port }]);
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
    expect(a.dist.members()).toEqual([{ node: 'b@127.0.0.1', port: b2.port }]);
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
      let bigSize = 0;
      b.dist.messaging.on('big', (payload: Buffer) => {
        bigSize = payload.length;
        return payload.length;
      });
      b.dist.messaging.on('small', (payload: Buffer) => payload.length);
      const big = a.dist.messaging.request<number>(
        'b@127.0.0.1',
        'big',
        Buffer.alloc(32 * 1024 * 1024, 7),
        { timeoutMs: 60_000 },
      );
      let smallDone = 0;
      let smallWhileBig = 0;
      let bigDone = false;
      void big.then(() => (bigDone = true));
      while (!bigDone) {
        await a.dist.messaging.request<number>('b@127.0.0.1', 'small', Buffer.alloc(1024), {
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
      let queueFull: { code?: string } | undefined;
      for (let i = 0; i < 10_000 && !queueFull; i++) {
        try {
          a.dist.messaging.send('b@127.0.0.1', 'sink', Buffer.alloc(64 * 1024));
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
