/**
 * Issue 18's "Done when": three built sample processes with `GEN_CLUSTER_DIST=nats://127.0.0.1:<port>`
 * and no discovery form a cluster over one real nats-server (Debian's, on loopback) and answer
 * `/cluster` as over the TCP mesh; a request and a broadcast go between them through the sample's
 * routes. A NATS client that can reach the server but lacks the cookie (the test, with
 * @nats-io/transport-node) publishes forged presence (a stranger, a forged `leaving` of a member),
 * junk and replays of captured traffic on the presence subject and every inbox: it is never a
 * member, nobody is dropped, no message is delivered twice, nothing crashes. Then `kill -9` of one
 * node (while its captured heartbeats are replayed) is seen within the failure window (defaults:
 * heartbeat 1 s, failure timeout 5 s), and SIGTERM of another at once with reason `left`.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import {
  type PresenceAnnouncement,
  decodePresence,
  encodePresence,
  natsSubjects,
  newIncarnation,
} from '../../src/nats/protocol/index.js';
import { NatsServer, stopAllNatsServers } from '../support/nats-server.js';
import { type SampleNode, TEST_COOKIE, startNode, stopAll } from '../support/nodes.js';
import { http } from '../support/sample-http.js';
import { until } from '../support/wait.js';

const names = ['a', 'b', 'c'].map(n => `${n}@127.0.0.1`);
const subjects = natsSubjects('gc', 'default');
/** The dist's presence key, as the nodes derive it from the cookie (HKDF-SHA256). */
const presenceKey = Buffer.from(
  hkdfSync('sha256', Buffer.from(TEST_COOKIE), Buffer.alloc(0), 'gen-cluster/nats/presence', 32),
);
/** A key from another cookie: what a stranger can sign with. */
const strangerKey = randomBytes(32);
/** The sample's defaults for the NATS dist: heartbeat 1 s, failure timeout 5 s. */
const FAILURE_TIMEOUT_MS = 5_000;

interface Captured {
  readonly subject: string;
  readonly data: Uint8Array;
}

/** The announcements among `messages` that the cookie signed (decoded with the real key). */
function genuinePresence(messages: readonly Captured[]): PresenceAnnouncement[] {
  return messages
    .filter(m => m.subject === subjects.presence)
    .map(m => decodePresence(m.data, presenceKey))
    .flatMap(d => (d.ok ? [d.announcement] : []));
}

describe('the NATS dist: three sample processes on one nats-server', () => {
  let server: NatsServer;
  /** The stranger: connected to NATS, without the cookie; it also records all traffic. */
  let stranger: NatsConnection;
  const captured: Captured[] = [];
  let nodes: SampleNode[] = [];
  const sorted = (list: readonly string[]) => [...list].sort();
  const others = (i: number) => names.filter((_, j) => j !== i);
  const views = () => Promise.all(nodes.map(n => n.members()));

  beforeAll(async () => {
    server = await NatsServer.start();
    stranger = await connect({ servers: server.url, name: 'stranger' });
    stranger.subscribe('>', {
      callback: (error, msg) => {
        if (!error) captured.push({ subject: msg.subject, data: Uint8Array.from(msg.data) });
      },
    });
    await stranger.flush();
    nodes = await Promise.all(
      names.map(name =>
        startNode(
          { GEN_CLUSTER_NODE: name, GEN_CLUSTER_DIST: server.url, GEN_CLUSTER_LOG_LEVEL: 'warn' },
          // generous: three Nest processes at once on a loaded machine
          { timeoutMs: 40_000 },
        ),
      ),
    );
  });

  afterAll(async () => {
    await stranger?.close().catch(() => undefined);
    await stopAll();
    await stopAllNatsServers();
  });

  it('forms a cluster from GEN_CLUSTER_DIST alone and answers /cluster as the TCP mesh does', async () => {
    const startedAt = performance.now();
    await until(
      async () => (await views()).every(m => m?.length === 2),
      15_000,
      'three members on NATS',
      50,
    );
    console.log(
      `NATS dist: three sample processes formed ${Math.round(performance.now() - startedAt)} ms after the last was ready`,
    );
    for (const [i, node] of nodes.entries()) {
      const view = await node.cluster();
      expect(view.self).toBe(names[i]);
      expect(sorted(view.members)).toEqual(others(i));
      // the same shape as over the TCP mesh, the namespace included
      const body = (await http<{ namespace?: string }>(node, 'GET', '/cluster')).body;
      expect(body.namespace).toBe('default');
      expect((await http(node, 'GET', '/health/ready')).status).toBe(200);
    }
    // everything on the NATS server went over the cluster's namespaced subjects
    expect(captured.some(c => c.subject === subjects.presence)).toBe(true);
    expect(captured.every(c => c.subject.startsWith('gc.default.'))).toBe(true);
  });

  it('carries a request and a broadcast between the processes', async () => {
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    await expect(
      http(a, 'GET', `/cluster/greet/${encodeURIComponent(b.name)}?name=Ada`),
    ).resolves.toEqual({
      status: 200,
      body: { greeting: `Hello, Ada, from ${b.name}`, servedBy: b.name, from: a.name },
    });
    const sent = await http<{ sent: number }>(a, 'POST', '/cluster/announce', { text: 'one' });
    expect(sent.body.sent).toBe(2);
    for (const receiver of [b, c])
      await until(
        async () =>
          (await http<unknown[]>(receiver, 'GET', '/cluster/announcements')).body.length === 1,
        5_000,
        `the announcement on ${receiver.name}`,
      );
  });

  it('never counts a client without the cookie, drops its junk and replays, and nobody crashes', async () => {
    const changesBefore = await Promise.all(nodes.map(async n => (await n.changes()).length));
    const inboxes = [
      ...new Set(captured.map(c => c.subject).filter(s => /\.n\.[0-9a-f]{16}$/.test(s))),
    ];
    // a, b and c each got at least a reply or a message on their inbox by now
    expect(inboxes.length).toBeGreaterThanOrEqual(3);
    const bStart = genuinePresence(captured).find(p => p.node === names[1]);
    expect(bStart).toBeDefined();
    const forged = (a: Partial<PresenceAnnouncement>) =>
      encodePresence(
        {
          kind: 'hello',
          node: 'mallory@127.0.0.1',
          incarnation: newIncarnation(),
          counter: 1,
          startedAt: Date.now(),
          port: 0,
          ...a,
        },
        strangerKey,
      );
    const junk = [
      new Uint8Array(0),
      Uint8Array.of(0x47),
      randomBytes(64),
      Buffer.concat([Buffer.from('GCNP'), randomBytes(40)]),
      randomBytes(900 * 1024),
    ];
    const mallory = newIncarnation();
    const attack: Captured[] = [];
    for (let counter = 1; counter <= 20; counter++)
      attack.push({
        subject: subjects.presence,
        data: forged({ kind: counter === 1 ? 'hello' : 'alive', incarnation: mallory, counter }),
      });
    // a forged leaving of b, under b's own start and a high counter, but not signed with the cookie
    attack.push({
      subject: subjects.presence,
      data: forged({ ...bStart!, kind: 'leaving', counter: bStart!.counter + 1_000_000 }),
    });
    for (const data of junk) attack.push({ subject: subjects.presence, data });
    for (const inbox of inboxes) {
      for (const data of junk) attack.push({ subject: inbox, data });
      attack.push({
        subject: inbox,
        data: forged({ kind: 'reply', incarnation: mallory, counter: 99 }),
      });
    }
    // replays of everything captured so far (presence, replies, the greet and the announcement)
    attack.push(...captured.slice());
    for (const { subject, data } of attack) stranger.publish(subject, data);
    await stranger.flush();

    // each node heard all of it (NATS keeps one publisher's order) and went on: two more of its
    // genuine heartbeats after the attack. A forged hello would have made mallory a member at
    // once, the forged leaving dropped b at once.
    const after = captured.length;
    await until(
      () =>
        names.every(
          name => genuinePresence(captured.slice(after)).filter(p => p.node === name).length >= 2,
        ),
      5_000,
      'two heartbeats of every node after the attack',
    );
    for (const [i, node] of nodes.entries()) {
      expect(node.exitCode).toBeUndefined();
      expect(sorted((await node.cluster()).members)).toEqual(others(i));
      expect((await node.changes()).slice(changesBefore[i])).toEqual([]);
    }
    // the replayed announcement frames were refused: each receiver still holds exactly one
    for (const receiver of nodes.slice(1))
      expect((await http<unknown[]>(receiver, 'GET', '/cluster/announcements')).body).toHaveLength(
        1,
      );
    // the attack did reach them: each counted and warned about the forged presence, and the
    // receivers of the announcement about its replayed frames
    for (const node of nodes)
      expect(node.output.join('\n')).toMatch(/Dropped a presence received over NATS: badMac/);
    for (const receiver of nodes.slice(1))
      expect(receiver.output.join('\n')).toMatch(/Dropped a frame received over NATS: replayed/);
    // and the cluster still works
    const [a, b] = nodes as [SampleNode, SampleNode];
    expect(
      (await http(b, 'GET', `/cluster/greet/${encodeURIComponent(a.name)}?name=Bo`)).status,
    ).toBe(200);
  });

  it('drops a node killed with SIGKILL within the failure window, its replayed heartbeats notwithstanding', async () => {
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    const before = await Promise.all([a, b].map(async n => (await n.changes()).length));
    const fromC = captured.filter(
      x => x.subject === subjects.presence && genuinePresence([x]).some(p => p.node === c.name),
    );
    expect(fromC.length).toBeGreaterThan(0);
    await c.kill();
    const killedAt = performance.now();
    // the stranger keeps replaying c's genuine heartbeats (old counters): they must not keep it
    let replayed = 0;
    const replayer = setInterval(() => {
      stranger.publish(subjects.presence, fromC[replayed++ % fromC.length]!.data);
    }, 100);
    try {
      await until(
        async () => (await a.members())?.length === 1 && (await b.members())?.length === 1,
        FAILURE_TIMEOUT_MS + 5_000,
        'c dropped by a and b',
        50,
      );
    } finally {
      clearInterval(replayer);
    }
    const detectedMs = Math.round(performance.now() - killedAt);
    console.log(
      `NATS dist: a SIGKILLed node dropped by both peers after ${detectedMs} ms (failure timeout ${FAILURE_TIMEOUT_MS} ms, heartbeat 1 s; ${replayed} replayed heartbeats ignored)`,
    );
    for (const [i, survivor] of [a, b].entries()) {
      const downs = (await survivor.changes()).slice(before[i]).filter(e => e.type === 'nodeDown');
      expect(downs).toEqual([
        expect.objectContaining({ node: c.name, reason: 'heartbeatTimeout' }),
      ]);
    }
  });

  it('drops a node stopped with SIGTERM at once, with reason left', async () => {
    const [a, b] = nodes as [SampleNode, SampleNode];
    const before = (await a.changes()).length;
    const stoppedAt = performance.now();
    b.signal('SIGTERM');
    await until(async () => (await a.members())?.length === 0, 5_000, 'b dropped by a', 20);
    const droppedMs = Math.round(performance.now() - stoppedAt);
    console.log(
      `NATS dist: a node stopped with SIGTERM dropped after ${droppedMs} ms (reason left)`,
    );
    // a leave, not a timeout: well under the failure timeout
    expect(droppedMs).toBeLessThan(FAILURE_TIMEOUT_MS - 1_000);
    const downs = (await a.changes()).slice(before).filter(e => e.type === 'nodeDown');
    expect(downs).toEqual([expect.objectContaining({ node: b.name, reason: 'left' })]);
    await b.exited;
    expect(b.exitCode === 0 || b.exitSignal === 'SIGTERM').toBe(true);
  });
});
