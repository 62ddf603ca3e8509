import { jest } from '@jest/globals';
import type { Connection, ConnectionHandlers } from './connection.js';
import type { LinkAdmission } from '../../core/index.js';
import type { HandshakePeer } from './handshake/index.js';
import { LinkTable, type LinkTableHooks } from './link-table.js';

/** The part of a connection the link table uses, with what was done to it. */
class FakeConnection {
  isClosed = false;
  handlers: ConnectionHandlers | undefined;
  delivered = false;
  closedWith: string | undefined;
  took: FakeConnection | undefined;
  alive = false;

  establish(_peer: HandshakePeer, handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }
  deliverEarly(): void {
    this.delivered = true;
  }
  close(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedWith = reason;
    this.handlers?.onClose(reason as never);
  }
  takeQueue(other: FakeConnection): void {
    this.took = other;
  }
  ping(): Promise<boolean> {
    return Promise.resolve(this.alive);
  }
}

const asConnection = (fake: FakeConnection) => fake as unknown as Connection;
const peer = (name: string, incarnation = 'one', hidden = false): HandshakePeer => ({
  name,
  incarnation,
  listenPort: 4370,
  hidden,
});

function setup(self = 'm@h', admission?: LinkAdmission) {
  const events: string[] = [];
  const dialing = new Set<string>();
  const state = { closing: false };
  const hooks: LinkTableHooks = {
    events: {
      nodeUp: p => events.push(`up ${p.node}`),
      nodeDown: (node, reason) => events.push(`down ${node} ${reason}`),
      message: from => events.push(`message ${from}`),
      admission,
    },
    control: from => events.push(`control ${from}`),
    linked: link => events.push(`linked ${link.peer.name}`),
    closing: () => state.closing,
    dialing: node => dialing.has(node),
  };
  const table = new LinkTable(
    {
      self,
      failureTimeoutMs: 5_000,
      handshakeStepTimeoutMs: 5_000,
      handshakeTotalTimeoutMs: 10_000,
    },
    hooks,
  );
  return { table, events, dialing, state };
}

describe('LinkTable', () => {
  it('adopts a link: the node comes up, then its first frames are delivered', () => {
    const { table, events } = setup();
    const connection = new FakeConnection();
    expect(table.adopt(asConnection(connection), peer('b@h'), 'out')).toBe(true);
    expect(events).toEqual(['up b@h', 'linked b@h']);
    expect(connection.delivered).toBe(true);
    expect(table.members()).toEqual([{ node: 'b@h', port: 4370 }]);
    connection.close('connectionClosed');
    expect(events.at(-1)).toBe('down b@h connectionClosed');
    expect(table.has('b@h')).toBe(false);
  });

  it('keeps hidden links out of membership but reachable', () => {
    const { table, events } = setup();
    const connection = new FakeConnection();
    table.adopt(asConnection(connection), peer('tool@h', 'one', true), 'in');
    expect(events).toEqual([]);
    expect(table.members()).toEqual([]);
    expect(table.connectionTo('tool@h')).toBe(asConnection(connection));
  });

  it('keeps the link started by the greater name when both got through, on both sides', () => {
    // this node (m) is the greater name: its outbound link wins over b's inbound one
    const greater = setup('m@h');
    const out = new FakeConnection();
    const inbound = new FakeConnection();
    greater.table.adopt(asConnection(out), peer('b@h'), 'out');
    expect(greater.table.adopt(asConnection(inbound), peer('b@h'), 'in')).toBe(false);
    expect(inbound.closedWith).toBe('connectionClosed');
    expect(greater.table.connectionTo('b@h')).toBe(asConnection(out));
    // this node (a) is the lesser name: z's inbound link replaces a's own, queue and all
    const lesser = setup('a@h');
    const mine = new FakeConnection();
    const theirs = new FakeConnection();
    lesser.table.adopt(asConnection(mine), peer('z@h'), 'out');
    expect(lesser.table.adopt(asConnection(theirs), peer('z@h'), 'in')).toBe(true);
    expect(theirs.took).toBe(mine);
    expect(mine.closedWith).toBe('connectionClosed');
    expect(lesser.events).toEqual(['up z@h', 'linked z@h']); // no membership change
  });

  it('replaces the link of a restarted node: down (restarted), then up', () => {
    const { table, events } = setup();
    const old = new FakeConnection();
    table.adopt(asConnection(old), peer('b@h', 'one'), 'in');
    table.adopt(asConnection(new FakeConnection()), peer('b@h', 'two'), 'in');
    expect(old.closedWith).toBe('restarted');
    expect(events).toEqual(['up b@h', 'linked b@h', 'down b@h restarted', 'up b@h', 'linked b@h']);
  });

  it('decides: the greater name wins a simultaneous connect, a live duplicate is refused', async () => {
    const { table, dialing, state } = setup('m@h');
    dialing.add('b@h');
    await expect(table.decide(peer('b@h'))).resolves.toEqual({
      ok: false,
      reason: 'simultaneous',
    });
    dialing.add('z@h');
    await expect(table.decide(peer('z@h'))).resolves.toEqual({ ok: true });
    const existing = new FakeConnection();
    table.adopt(asConnection(existing), peer('c@h', 'one'), 'out');
    await expect(table.decide(peer('c@h', 'one'))).resolves.toEqual({
      ok: false,
      reason: 'already-connected',
    });
    existing.alive = true;
    await expect(table.decide(peer('c@h', 'two'))).resolves.toEqual({
      ok: false,
      reason: 'duplicate-name',
    });
    existing.alive = false;
    await expect(table.decide(peer('c@h', 'two'))).resolves.toEqual({ ok: true });
    state.closing = true;
    await expect(table.decide(peer('d@h'))).resolves.toEqual({ ok: false, reason: 'stopping' });
  });

  it('resolves a wait once the node is linked, even when linked just after the call', async () => {
    const { table } = setup();
    const waiting = table.waitForLink('b@h', AbortSignal.timeout(5_000));
    // adopted in the same turn, before the wait's work has run
    table.adopt(asConnection(new FakeConnection()), peer('b@h'), 'in');
    await expect(waiting).resolves.toBe(true);
    const later = table.waitForLink('c@h', AbortSignal.timeout(5_000));
    await Promise.resolve();
    await Promise.resolve();
    table.adopt(asConnection(new FakeConnection()), peer('c@h'), 'in');
    await expect(later).resolves.toBe(true);
  });

  it('resolves a wait false on abort, on close, and after the handshake deadline', async () => {
    const { table } = setup();
    const controller = new AbortController();
    const aborted = table.waitForLink('b@h', controller.signal);
    controller.abort();
    await expect(aborted).resolves.toBe(false);
    const closed = table.waitForLink('b@h', AbortSignal.timeout(5_000));
    await Promise.resolve();
    await Promise.resolve();
    table.close();
    await expect(closed).resolves.toBe(false);
    jest.useFakeTimers();
    try {
      const { table: other } = setup();
      const unbounded = other.waitForLink('b@h');
      await jest.advanceTimersByTimeAsync(10_000);
      await expect(unbounded).resolves.toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('closes every link with reason stopped', () => {
    const { table } = setup();
    const member = new FakeConnection();
    const hidden = new FakeConnection();
    table.adopt(asConnection(member), peer('b@h'), 'in');
    table.adopt(asConnection(hidden), peer('tool@h', 'one', true), 'in');
    table.close();
    expect([member.closedWith, hidden.closedWith]).toEqual(['stopped', 'stopped']);
    expect(table.all()).toEqual([]);
  });
});

/** An admission over a set the test changes; `admit` may bring a node in (a refresh found it). */
function admissionOf(discovered: Set<string>, onAdmit: (node: string) => void = () => undefined) {
  const asked: string[] = [];
  const admission: LinkAdmission = {
    admits: node => discovered.has(node),
    admit: async node => {
      asked.push(node);
      onAdmit(node);
      return discovered.has(node);
    },
  };
  return { admission, asked };
}

describe('LinkTable admission (removalPolicy "disconnect")', () => {
  it('refuses an undiscovered node as not-discovered after asking the engine once, and admits a node the refresh found', async () => {
    const discovered = new Set(['b@h']);
    const { admission, asked } = admissionOf(discovered, node => {
      if (node === 'new@h') discovered.add(node); // the refresh lists the new pod
    });
    const { table } = setup('m@h', admission);
    await expect(table.decide(peer('b@h'))).resolves.toEqual({ ok: true });
    expect(asked).toEqual([]); // a discovered node costs no refresh
    await expect(table.decide(peer('gone@h'))).resolves.toEqual({
      ok: false,
      reason: 'not-discovered',
    });
    await expect(table.decide(peer('new@h'))).resolves.toEqual({ ok: true });
    expect(asked).toEqual(['gone@h', 'new@h']);
  });

  it('always admits hidden nodes', async () => {
    const { admission, asked } = admissionOf(new Set());
    const { table, events } = setup('m@h', admission);
    await expect(table.decide(peer('tool@h', 'one', true))).resolves.toEqual({ ok: true });
    const tool = new FakeConnection();
    expect(table.adopt(asConnection(tool), peer('tool@h', 'one', true), 'in')).toBe(true);
    expect(tool.isClosed).toBe(false);
    expect(asked).toEqual([]);
    expect(events).toEqual([]);
  });

  it('closes a link whose node left discovery after it was admitted or dialled: no nodeUp, no nodeDown', async () => {
    const discovered = new Set(['b@h', 'c@h']);
    const { admission } = admissionOf(discovered);
    const { table, events } = setup('m@h', admission);
    await expect(table.decide(peer('b@h'))).resolves.toEqual({ ok: true });
    discovered.delete('b@h'); // the removal lands between the verdict and the adoption
    const inbound = new FakeConnection();
    expect(table.adopt(asConnection(inbound), peer('b@h'), 'in')).toBe(false);
    discovered.delete('c@h'); // and while this node's own dial of c was in its handshake
    const outbound = new FakeConnection();
    expect(table.adopt(asConnection(outbound), peer('c@h'), 'out')).toBe(false);
    expect([inbound.isClosed, outbound.isClosed]).toEqual([true, true]);
    expect(events).toEqual([]);
    expect(table.members()).toEqual([]);
    expect(table.admits('b@h')).toBe(false);
    discovered.add('b@h'); // listed again: it joins normally
    expect(table.adopt(asConnection(new FakeConnection()), peer('b@h'), 'in')).toBe(true);
    expect(events).toEqual(['up b@h', 'linked b@h']);
  });

  it('admits every node when the engine passed no admission', async () => {
    const { table } = setup('m@h');
    expect(table.admits('anyone@h')).toBe(true);
    await expect(table.decide(peer('anyone@h'))).resolves.toEqual({ ok: true });
  });
});
