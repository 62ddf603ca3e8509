import { type Peer, withDeadline } from '../../core/index.js';
import type { Connection } from './connection.js';
import type { HandshakeDecision, HandshakePeer } from './handshake/index.js';
import { type Link, type MeshEvents, type MeshOptions, peerOf } from './mesh.types.js';
import { ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** How long `decide` waits at most for the old link of a restarted node to answer a ping. */
const RESTART_PING_MS = 2_000;

/**
 * The handshake refusal reason of a node the engine does not admit (under `removalPolicy:
 * 'disconnect'`, a node not in this node's discovery answer). The dialler sees a refused
 * connect (`ERR_HANDSHAKE_REFUSED`, this reason) and backs off; no side reports a membership
 * change.
 */
export const NOT_DISCOVERED_REASON = 'not-discovered';

/** What the {@link LinkTable} asks of the rest of the mesh. */
export interface LinkTableHooks {
  /** Membership changes and messages, reported upwards. */
  readonly events: MeshEvents;
  /** A control message arrived on a member link. */
  control(from: string, message: unknown): void;
  /** A member link came up (after `nodeUp`, before its first messages are delivered). */
  linked(link: Link): void;
  /** The mesh is closing: no link is taken any more. */
  closing(): boolean;
  /** A dial of ours to `node` is in progress. */
  dialing(node: string): boolean;
}

/**
 * The links of the mesh: one authenticated link per member node (hidden links apart), and the
 * rules that keep it one.
 *
 * Simultaneous connects: when two nodes dial each other at once, the link started by the node
 * with the greater name (string order of canonical names) survives, on both sides.
 * Restarts: an authenticated newcomer with a known name but a new incarnation replaces the old
 * link if the old one does not answer a ping; if it does, the newcomer is a second live node with
 * the same name and is refused with `duplicate-name`.
 */
export class LinkTable {
  private readonly links = new Map<string, Link>();
  private readonly hiddenLinks = new Set<Link>();
  /** Waiters for a node to become linked, whichever side's connection wins. */
  private readonly waiters = new Map<string, Set<(linked: boolean) => void>>();

  constructor(
    private readonly options: Pick<
      MeshOptions,
      'self' | 'failureTimeoutMs' | 'handshakeStepTimeoutMs' | 'handshakeTotalTimeoutMs'
    >,
    private readonly hooks: LinkTableHooks,
  ) {}

  /** Whether `node` is a linked member. */
  has(node: string): boolean {
    return this.links.has(node);
  }

  /** Connected member nodes (hidden links excluded). */
  members(): Peer[] {
    return [...this.links.values()].map(({ peer }) => peerOf(peer));
  }

  /** Member links. */
  memberLinks(): Link[] {
    return [...this.links.values()];
  }

  /** Every link, member and hidden. */
  all(): Link[] {
    return [...this.links.values(), ...this.hiddenLinks];
  }

  /** The link of a node, hidden or not. */
  connectionTo(node: string): Connection | undefined {
    const link = this.links.get(node);
    if (link) return link.connection;
    for (const hidden of this.hiddenLinks) if (hidden.peer.name === node) return hidden.connection;
    return undefined;
  }

  /**
   * Whether the engine admits a link with `node` now (see `DistContext.admission`); every node
   * when it passed no admission.
   */
  admits(node: string): boolean {
    return this.hooks.events.admission?.admits(node) ?? true;
  }

  /** Verdict on an authenticated inbound link (see the class comment for the rules). */
  async decide(peer: HandshakePeer): Promise<HandshakeDecision> {
    if (this.hooks.closing()) return { ok: false, reason: 'stopping' };
    if (peer.hidden) return { ok: true };
    const admission = this.hooks.events.admission;
    if (admission && !admission.admits(peer.name)) {
      // Half a handshake step: the answer must reach the dialler before its step deadline.
      const bound = AbortSignal.timeout(Math.max(1, this.options.handshakeStepTimeoutMs / 2));
      const admitted = await admission.admit(peer.name, bound);
      if (!admitted) return { ok: false, reason: NOT_DISCOVERED_REASON };
      if (this.hooks.closing()) return { ok: false, reason: 'stopping' };
    }
    const existing = this.links.get(peer.name);
    if (existing && existing.peer.incarnation !== peer.incarnation) {
      const alive = await existing.connection.ping(
        Math.min(this.options.failureTimeoutMs, RESTART_PING_MS),
      );
      if (alive && this.links.get(peer.name) === existing) {
        return { ok: false, reason: 'duplicate-name' };
      }
      return { ok: true }; // a restart: adopt() replaces the old incarnation
    }
    // Same node linked or being dialled: the link started by the greater name is the one kept.
    if ((existing || this.hooks.dialing(peer.name)) && peer.name < this.options.self) {
      return { ok: false, reason: existing ? 'already-connected' : 'simultaneous' };
    }
    return { ok: true };
  }

  /**
   * Takes an authenticated connection as the link to its node. Returns `false` when it is not
   * kept: it closed meanwhile, it lost the simultaneous-connect tie-break, or the engine no longer
   * admits the node (it left discovery after `decide` or after this side dialled it: the link is
   * closed before it counts as up).
   */
  adopt(connection: Connection, peer: HandshakePeer, direction: 'in' | 'out'): boolean {
    if (connection.isClosed) return false;
    const { events } = this.hooks;
    const link: Link = { connection, peer };
    if (peer.hidden) {
      this.hiddenLinks.add(link);
      connection.establish(peer, {
        onMessage: bytes => events.message(peer.name, bytes),
        onControl: () => undefined,
        onClose: () => {
          this.hiddenLinks.delete(link);
          // A member link of that name (a tool misnamed as a member) keeps its requests.
          if (this.links.has(peer.name)) return;
          for (const other of this.hiddenLinks) if (other.peer.name === peer.name) return;
          events.hiddenDown?.(peer.name);
        },
      });
      connection.deliverEarly();
      return !connection.isClosed;
    }
    // Checked here, in the same turn as nodeUp, so a removal applied since `decide` holds.
    if (!this.admits(peer.name)) {
      connection.close('connectionClosed');
      return false;
    }
    const previous = this.links.get(peer.name);
    let replaced = false;
    if (previous) {
      if (previous.peer.incarnation !== peer.incarnation) {
        // A restart: the old incarnation goes down before the new one comes up.
        this.links.delete(peer.name);
        previous.connection.close('restarted');
        events.nodeDown(peer.name, 'restarted');
      } else {
        // Two links to one node (simultaneous connects that both got through): keep the one
        // started by the greater name, as the other side does, without a membership change.
        const self = this.options.self;
        const initiator = direction === 'out' ? self : peer.name;
        const greater = self > peer.name ? self : peer.name;
        if (initiator !== greater) {
          connection.close('connectionClosed');
          return false;
        }
        replaced = true;
      }
    }
    this.links.set(peer.name, link);
    connection.establish(peer, {
      onMessage: bytes => events.message(peer.name, bytes),
      onControl: message => this.hooks.control(peer.name, message),
      onClose: reason => {
        if (this.links.get(peer.name) !== link) return;
        this.links.delete(peer.name);
        events.nodeDown(peer.name, reason);
      },
    });
    if (replaced) {
      // What was not yet sent on the old link goes out on the new one, not lost with it.
      connection.takeQueue(previous!.connection);
      previous!.connection.close('connectionClosed');
      connection.deliverEarly();
      return !connection.isClosed;
    }
    events.nodeUp(peerOf(peer));
    this.notify(peer.name, true);
    this.hooks.linked(link);
    // Only now, with the node a member, may its first messages reach the handlers.
    connection.deliverEarly();
    return !connection.isClosed;
  }

  /**
   * Waits until `node` is linked, by whichever side's connection; `false` on abort, on close of
   * the mesh, or after the handshake deadline when no signal bounds the wait.
   */
  waitForLink(node: string, signal?: AbortSignal): Promise<boolean> {
    if (this.links.has(node)) return Promise.resolve(true);
    if (this.hooks.closing() || signal?.aborted) return Promise.resolve(false);
    const ms = this.options.handshakeTotalTimeoutMs;
    const linked = withDeadline(
      inner =>
        new Promise<boolean>(resolve => {
          // Checked again: withDeadline runs this a microtask later, and the peer's link may have
          // been adopted (or the mesh closed) in between.
          if (this.links.has(node)) return resolve(true);
          if (this.hooks.closing()) return resolve(false);
          const waiters = this.waiters.get(node) ?? new Set();
          this.waiters.set(node, waiters);
          const done = (result: boolean) => {
            waiters.delete(done);
            if (waiters.size === 0 && this.waiters.get(node) === waiters) this.waiters.delete(node);
            inner.removeEventListener('abort', onAbort);
            resolve(result);
          };
          const onAbort = () => done(false);
          inner.addEventListener('abort', onAbort, { once: true });
          waiters.add(done);
        }),
      // The caller's signal bounds the wait when there is one; else the handshake deadline.
      {
        ms: signal ? Infinity : ms,
        signal,
        onTimeout: () => new ProtocolError(M.linkWaitTimedOut(node, ms)),
      },
    );
    return linked.catch(() => false);
  }

  /** Drops the link to a node; `false` when there is none. */
  disconnect(node: string): boolean {
    const link = this.links.get(node);
    if (!link) return false;
    link.connection.close('disconnected');
    return true;
  }

  /** Closes every link at once (reason `stopped`) and ends every wait with `false`. */
  close(): void {
    for (const link of this.all()) link.connection.close('stopped');
    for (const node of [...this.waiters.keys()]) this.notify(node, false);
    this.waiters.clear();
  }

  private notify(node: string, linked: boolean): void {
    for (const waiter of [...(this.waiters.get(node) ?? [])]) waiter(linked);
    this.waiters.delete(node);
  }
}
