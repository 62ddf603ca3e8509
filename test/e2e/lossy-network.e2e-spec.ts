/**
 * Scenario 13 (short form; the minutes-long run is test/soak/lossy-network.soak-spec.ts): three
 * sample processes with the default heartbeat (1 s) and failure timeout (5 s), every link through
 * 10 % random packet loss (iptables in a network namespace of the test's own) and 200 ± 50 ms of
 * delay each way (test/support/tcp-proxy.ts). Pass: no false nodeDown, the mesh stays whole, and
 * a node that really stops is still declared down.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { LossyCluster, type MembershipChange } from '../support/lossy-cluster.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/wait.js';

/**
 * Three failure timeouts (5 s each) under loss: long enough for a false nodeDown to show (it takes
 * 5 s of silence on a link), short enough for `npm test`; the soak watches for two minutes.
 */
const STEADY_MS = Number(process.env.LOSSY_E2E_DURATION_MS ?? 15_000);

describe('the TCP proxy of the fault tests', () => {
  let server: Server | undefined;
  let proxy: TcpProxy | undefined;
  let client: Socket | undefined;
  afterEach(async () => {
    client?.destroy();
    await proxy?.stop();
    await new Promise(resolve => (server ? server.close(resolve) : resolve(undefined)));
  });

  /** A server that keeps what it receives and when; the proxy in front of it; a client. */
  async function setUp(delayMs: number, jitterMs: number) {
    const received: { at: number; text: string }[] = [];
    const accepted: Socket[] = [];
    server = createServer(socket => {
      accepted.push(socket);
      socket.on('data', chunk => received.push({ at: performance.now(), text: String(chunk) }));
      socket.on('error', () => undefined);
    });
    await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    proxy = await TcpProxy.start({
      routes: [{ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port } }],
      delayMs,
      jitterMs,
    });
    client = connect(proxy.ports[0]!, '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise(resolve => client!.once('connect', resolve));
    return { received, accepted, text: () => received.map(r => r.text).join('') };
  }

  it('delays every chunk by delay ± jitter and never reorders them', async () => {
    const { received, text } = await setUp(200, 50);
    const sent: string[] = [];
    const firstSent = performance.now();
    for (let i = 0; i < 20; i++) {
      sent.push(`<${i}>`);
      client!.write(`<${i}>`);
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    await until(() => text() === sent.join(''), 10_000, 'every chunk, in order');
    // 200 - 50 ms at the least (a few ms of timer slack below); no upper bound beyond the wait.
    expect(received[0]!.at - firstSent).toBeGreaterThanOrEqual(145);
    const [stats] = await proxy!.stats();
    expect(stats).toMatchObject({
      accepted: 1,
      open: 1,
      bytes: { toTarget: sent.join('').length },
    });
  });

  it('holds bytes while stalled and delivers them on resume; cut resets the connection', async () => {
    const { text, accepted } = await setUp(0, 0);
    await proxy!.stall();
    client!.write('held');
    await until(
      async () => (await proxy!.stats())[0]!.bytes.toTarget === 4,
      5_000,
      'the bytes at the proxy',
    );
    // An observation window, not a synchronisation: unstalled, 4 bytes take well under 1 ms.
    await new Promise(resolve => setTimeout(resolve, 300));
    expect(text()).toBe('');
    await proxy!.resume();
    await until(() => text() === 'held', 5_000, 'the held bytes');
    const closed = new Promise(resolve => accepted[0]!.once('close', resolve));
    await proxy!.cut();
    await closed;
    await until(() => client!.destroyed, 5_000, 'the client side to close');
  });
});

describe('scenario 13: 10 % loss and 200 ± 50 ms jitter, default timings (short run)', () => {
  let cluster: LossyCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it(`keeps three nodes meshed with no nodeDown for ${STEADY_MS / 1_000} s, and still detects a stopped node`, async () => {
    cluster = await LossyCluster.start({
      tag: 'lossy',
      lossProbability: 0.1,
      delayMs: 200,
      jitterMs: 50,
    });
    await until(() => cluster!.fullMesh(), 45_000, 'a full mesh of three', 250);
    const formed = (await Promise.all(cluster.names.map((_, i) => cluster!.changes(i)))).map(
      changes => changes ?? [],
    );
    const proxyAtFormation = await cluster.proxyStats();

    const seen = await cluster.observe(STEADY_MS, formed);
    const figures = {
      polls: seen.polls,
      lossCandidates: seen.loss.matched,
      dropped: seen.loss.dropped,
      maxArrivalGapMs: Math.round(Math.max(...seen.proxy.map(s => s.maxArrivalGapMs))),
      maxDeliveryGapMs: Math.round(Math.max(...seen.proxy.map(s => s.maxDeliveryGapMs))),
      nodeDowns: seen.nodeDowns.length,
      // Dials accepted after formation (late dials that lost the tie-break).
      lateDials:
        seen.proxy.reduce((sum, s) => sum + s.accepted, 0) -
        proxyAtFormation.reduce((sum, s) => sum + s.accepted, 0),
    };
    console.log(`lossy-network e2e figures: ${JSON.stringify(figures)}`);
    expect(seen.nodeDowns).toEqual([]);
    expect(seen.nodeUps).toEqual([]);
    expect(seen.flaps).toEqual([]);
    // No link was replaced: each pair is still joined by the connection it had at formation
    // (a late dial refused as already-connected is allowed; it adds a connection, not a relink).
    expect(LossyCluster.keptLinks(proxyAtFormation, seen.proxy)).toBe(cluster.pairs);
    // The fault was there: about 10 % of the candidate packets were dropped.
    expect(seen.loss.matched).toBeGreaterThan(200);
    expect(seen.loss.dropped / seen.loss.matched).toBeGreaterThan(0.04);
    expect(seen.loss.dropped / seen.loss.matched).toBeLessThan(0.2);

    // A node that stops answering is still declared down by both others, exactly once each.
    const stopped = cluster.names[2]!;
    const before = await Promise.all([0, 1].map(i => cluster!.changes(i)));
    cluster.process(2).signal('SIGSTOP');
    const downsOf = async (i: number) =>
      ((await cluster!.changes(i)) ?? [])
        .slice(before[i]!.length)
        .filter((c: MembershipChange) => c.type === 'nodeDown' && c.node === stopped);
    // failure timeout 5 s + heartbeat 1 s + the path's delay, with room for a loaded machine
    await until(
      async () => (await downsOf(0)).length >= 1 && (await downsOf(1)).length >= 1,
      25_000,
      `both others to declare ${stopped} down`,
      250,
    );
    expect((await downsOf(0)).length).toBe(1);
    expect((await downsOf(1)).length).toBe(1);
    cluster.process(2).signal('SIGCONT');
  }, 150_000);
});
