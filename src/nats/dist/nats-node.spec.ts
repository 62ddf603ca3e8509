/**
 * NatsNode's decisions that need no server: which presence makes a start a member (only a `reply`
 * bound to this start, or a signed frame addressed to it), which frames reach messaging, the
 * freeze when our own presence stops coming back, `connect` waiters, partials of a node that went
 * down. The link is a fake here because these are the node's own rules over what arrives; the
 * real server is in test/e2e/nats-dist-integration.e2e-spec.ts.
 */
import { afterEach, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { DistContext, NodeDownReason, Peer } from '../../core/index.js';
import { NatsLink, resolveNatsConnectionOptions } from '../connection/index.js';
import {
  FrameWriter,
  type PresenceAnnouncement,
  decodePresence,
  encodePresence,
  natsSubjects,
  newIncarnation,
} from '../protocol/index.js';
import { resolveNatsDistSettings } from './nats-dist-options.js';
import { NatsNode } from './nats-node.js';

const PRESENCE_KEY = randomBytes(32);
const MESSAGE_KEY = randomBytes(32);
const SUBJECTS = natsSubjects('gc', 'default');
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

class FakeLink {
  connected = true;
  maxPayload = 1024 * 1024;
  /** The node's status callback, as `NatsLink.open` got it. */
  status: (connected: boolean, reason?: string) => void = () => undefined;
  readonly published: { subject: string; payload: Uint8Array }[] = [];
  private readonly handlers = new Map<string, (payload: Uint8Array) => void>();
  publish(subject: string, payload: Uint8Array): void {
    this.published.push({ subject, payload });
  }
  subscribe(subject: string, handler: (payload: Uint8Array) => void): () => void {
    this.handlers.set(subject, handler);
    return () => this.handlers.delete(subject);
  }
  deliver(subject: string, payload: Uint8Array): void {
    this.handlers.get(subject)?.(payload);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  stats() {
    return { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, reconnects: 0 };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Harness {
  readonly node: NatsNode;
  readonly link: FakeLink;
  readonly ups: string[];
  readonly downs: [string, NodeDownReason][];
  /** What the node reported to the engine: `true`, or the reason it is cut off. */
  readonly connectivity: (boolean | string)[];
  readonly inbox: string;
}

const nodes: NatsNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(n => n.close()));
  jest.restoreAllMocks();
});

async function start(timing = { heartbeatIntervalMs: 1_000, failureTimeoutMs: 5_000 }) {
  const link = new FakeLink();
  jest.spyOn(NatsLink, 'open').mockImplementation((_connection, ports) => {
    link.status = ports.status;
    return Promise.resolve(link as unknown as NatsLink);
  });
  const ups: string[] = [];
  const downs: [string, NodeDownReason][] = [];
  const connectivity: (boolean | string)[] = [];
  const context: DistContext = {
    self: 'self@h',
    logger: quiet,
    nodeUp: (peer: Peer) => void ups.push(peer.node),
    nodeDown: (node, reason) => void downs.push([node, reason]),
    reportConnectivity: (connected, reason) => void connectivity.push(connected || reason || ''),
  };
  const node = await NatsNode.start({
    context,
    settings: resolveNatsDistSettings({ servers: 'nats://127.0.0.1:4222', ...timing }),
    connection: resolveNatsConnectionOptions({ servers: 'nats://127.0.0.1:4222' }),
    codec: 'json',
    startedAt: 1_000,
    presenceKey: PRESENCE_KEY,
    messageKey: MESSAGE_KEY,
  });
  nodes.push(node);
  const inbox = SUBJECTS.inbox(node.incarnation);
  const h: Harness = { node, link, ups, downs, connectivity, inbox };
  return h;
}

/** A peer start that signs with the cluster's keys. */
function peer(name = 'p@h') {
  const incarnation = newIncarnation();
  let counter = 0;
  const writer = new FrameWriter({
    self: name,
    incarnation,
    key: MESSAGE_KEY,
    maxPayloadBytes: 200,
  });
  return {
    name,
    incarnation,
    presence: (kind: PresenceAnnouncement['kind'], to?: string) =>
      encodePresence(
        { kind, node: name, incarnation, counter: ++counter, startedAt: 2_000, port: 0, to },
        PRESENCE_KEY,
      ),
    frames: (to: string, body: Buffer) => writer.encode(to, [body]),
  };
}

/** The presence packets `h` published to `subject`, decoded. */
function sentTo(h: Harness, subject: string): PresenceAnnouncement[] {
  return h.link.published
    .filter(p => p.subject === subject)
    .map(p => decodePresence(p.payload, PRESENCE_KEY))
    .flatMap(d => (d.ok ? [d.announcement] : []));
}

/** What the node refused so far, by `what.reason`. */
function refusals(h: Harness): Record<string, number> {
  return h.node.stats().nats.refusals;
}

describe('NatsNode membership', () => {
  it('keeps an alive of an unverified start pending and asks it; its reply to this start makes it a member', async () => {
    const h = await start();
    const p = peer();
    h.link.deliver(SUBJECTS.presence, p.presence('alive'));
    expect(h.ups).toEqual([]);
    expect(h.node.heard()).toEqual([]);
    const asked = sentTo(h, SUBJECTS.inbox(p.incarnation));
    expect(asked).toMatchObject([{ kind: 'hello', to: p.incarnation }]);
    // Its answer to another start of ours (a recording) proves nothing.
    h.link.deliver(h.inbox, p.presence('reply', newIncarnation()));
    expect(refusals(h)['presence.wrongDestination']).toBe(1);
    expect(h.ups).toEqual([]);
    h.link.deliver(h.inbox, p.presence('reply', h.node.incarnation));
    expect(h.ups).toEqual([p.name]);
    // Its later alives keep it a member, without asking again.
    h.link.deliver(SUBJECTS.presence, p.presence('alive'));
    expect(sentTo(h, SUBJECTS.inbox(p.incarnation))).toHaveLength(1);
    expect(h.node.members().map(m => m.node)).toEqual([p.name]);
  });

  it('asks an unverified hello; a directed hello naming this start proves its sender and is answered', async () => {
    const h = await start();
    const p = peer();
    h.link.deliver(SUBJECTS.presence, p.presence('hello'));
    // The ask names p's start: it proves this start to p as a reply would.
    expect(sentTo(h, SUBJECTS.inbox(p.incarnation))).toMatchObject([
      { kind: 'hello', to: p.incarnation },
    ]);
    const q = peer('q@h');
    h.link.deliver(h.inbox, q.presence('hello', h.node.incarnation));
    expect(h.ups).toEqual([q.name]);
    expect(sentTo(h, SUBJECTS.inbox(q.incarnation))).toMatchObject([
      { kind: 'reply', to: q.incarnation },
    ]);
    // A verified member's broadcast hello (a reconnect) is answered with a reply.
    h.link.deliver(SUBJECTS.presence, q.presence('hello'));
    expect(sentTo(h, SUBJECTS.inbox(q.incarnation))).toHaveLength(1); // within the reply window
    // A reply on the broadcast subject, or a broadcast kind on the inbox, is misplaced.
    h.link.deliver(SUBJECTS.presence, p.presence('reply', h.node.incarnation));
    h.link.deliver(h.inbox, p.presence('alive'));
    expect(refusals(h)['presence.misdirected']).toBe(2);
    expect(h.ups).toEqual([q.name]);
  });

  it('resolves a connect waiter once the start is verified, and false when aborted', async () => {
    const h = await start();
    const p = peer();
    const waiting = h.node.connect(p.name, new AbortController().signal);
    const aborted = new AbortController();
    const given = h.node.connect('q@h', aborted.signal);
    h.link.deliver(SUBJECTS.presence, p.presence('hello'));
    h.link.deliver(h.inbox, p.presence('reply', h.node.incarnation));
    aborted.abort();
    await expect(waiting).resolves.toBe(true);
    await expect(given).resolves.toBe(false);
  });
});

describe('NatsNode frames', () => {
  it('takes a signed frame addressed to this start as proof of a pending start; refuses unknown senders', async () => {
    const h = await start();
    const p = peer();
    const stranger = peer('s@h');
    for (const frame of stranger.frames(h.node.incarnation, Buffer.from('x')))
      h.link.deliver(h.inbox, frame);
    expect(refusals(h)['frame.notMember']).toBe(1);
    h.link.deliver(SUBJECTS.presence, p.presence('alive'));
    for (const frame of p.frames(h.node.incarnation, Buffer.from('x')))
      h.link.deliver(h.inbox, frame);
    expect(h.ups).toEqual([p.name]);
    expect(refusals(h)['frame.notMember']).toBe(1);
  });

  it('refuses frames of a member the engine disconnected', async () => {
    const h = await start();
    const p = peer();
    h.link.deliver(h.inbox, p.presence('reply', h.node.incarnation));
    expect(h.ups).toEqual([p.name]);
    h.node.tracker.disconnect(p.name);
    for (const frame of p.frames(h.node.incarnation, Buffer.from('x')))
      h.link.deliver(h.inbox, frame);
    expect(refusals(h)['frame.notMember']).toBe(1);
  });

  it("drops a member's message under way when it goes down (its next fragment is out of order)", async () => {
    const h = await start();
    const p = peer();
    h.link.deliver(h.inbox, p.presence('reply', h.node.incarnation));
    const fragments = p.frames(h.node.incarnation, randomBytes(600));
    expect(fragments.length).toBeGreaterThan(2);
    h.link.deliver(h.inbox, fragments[0]!);
    h.link.deliver(SUBJECTS.presence, p.presence('leaving'));
    expect(h.downs).toEqual([[p.name, 'left']]);
    h.link.deliver(h.inbox, fragments[1]!);
    expect(refusals(h)['frame.fragmentOrder']).toBe(1);
  });
});

describe('NatsNode own presence', () => {
  const timing = { heartbeatIntervalMs: 40, failureTimeoutMs: 200 };

  /** Our own packet coming back, as NATS echoes it. */
  function echo(h: Harness): void {
    const own = h.link.published.find(p => p.subject === SUBJECTS.presence)!;
    h.link.deliver(SUBJECTS.presence, own.payload);
  }

  async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      if (condition()) return true;
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    return condition();
  }

  it('freezes membership once its own presence stops coming back, and thaws when it does', async () => {
    const h = await start(timing);
    echo(h);
    expect(await waitFor(() => h.node.tracker.isFrozen, 2_000)).toBe(true);
    // reported as cut off at once, before the client's pings would give up on the server
    expect(h.connectivity).toEqual([expect.stringContaining('own presence has not come back')]);
    // A fresh packet of ours (the first was taken: the replay guard refuses it again).
    const fresh = h.link.published.filter(p => p.subject === SUBJECTS.presence).at(-1)!;
    h.link.deliver(SUBJECTS.presence, fresh.payload);
    expect(h.node.tracker.isFrozen).toBe(false);
    expect(h.connectivity.at(-1)).toBe(true);
  });

  it('does not freeze after leave (the heartbeat stopped)', async () => {
    const h = await start(timing);
    echo(h);
    await h.node.leave();
    // Well past the limit (100 ms): no freeze.
    expect(await waitFor(() => h.node.tracker.isFrozen, 400)).toBe(false);
  });

  it('counts no echo silence while cut off: reconnected, the echo is awaited afresh', async () => {
    const h = await start(timing);
    echo(h);
    h.link.connected = false;
    h.link.status(false, 'test');
    expect(h.node.tracker.isFrozen).toBe(true);
    await waitFor(() => false, 300);
    h.link.connected = true;
    h.link.status(true);
    // The outage was longer than the limit, yet the reconnect does not count it as echo lost.
    expect(h.node.tracker.isFrozen).toBe(false);
    expect(h.node.stats().nats.refusals).toEqual({});
    const stillThawed = !(await waitFor(() => h.node.tracker.isFrozen, 50));
    expect(stillThawed).toBe(true);
  });
});
