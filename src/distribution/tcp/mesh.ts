import { randomBytes } from 'node:crypto';
import { type Server, type Socket, connect as netConnect, createServer, isIP } from 'node:net';
import {
  type Server as TlsServer,
  type TLSSocket,
  createServer as createTlsServer,
} from 'node:tls';
import { types } from 'node:util';
import type { NodeDownReason } from '../../core/events.js';
import { ConnectError, toError as coreToError } from '../../core/errors.js';
import type { ClusterLogger } from '../../core/logger.js';
import { type Peer, parseNodeName, toPeer } from '../../core/peer.js';
import { Connection, type ConnectionLimits } from './connection.js';
import {
  AcceptorHandshake,
  type HandshakeDecision,
  type HandshakeIdentity,
  type HandshakePeer,
  InitiatorHandshake,
} from './handshake.js';
import { HandshakeError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';
import {
  type ResolvedTls,
  TlsError,
  TlsMessages,
  awaitSecureConnect,
  clientCertificateNameProblem,
  dialTls,
  toTlsError,
} from './tls.js';

/** Everything the mesh needs, resolved. */
export interface MeshOptions extends ConnectionLimits {
  readonly self: string;
  readonly cookie: Buffer;
  /** Port to listen on (0: ephemeral); also the port dialled for peers that came without one. */
  readonly port: number;
  /** Address to listen on; `undefined` for all interfaces. */
  readonly bind: string | undefined;
  readonly hidden: boolean;
  readonly transitive: boolean;
  readonly maxPendingHandshakes: number;
  readonly maxPendingHandshakesPerIp: number;
  /** Resolves a host name before dialling (DNS settings of the cluster); `undefined`: the system's. */
  readonly lookup?: (host: string) => Promise<string>;
  /** TLS (and mutual TLS) on every link, inbound and outbound; `undefined`: plain TCP. */
  readonly tls?: ResolvedTls;
}

/** What the mesh reports upwards. */
export interface MeshEvents {
  nodeUp(peer: Peer): void;
  nodeDown(node: string, reason: NodeDownReason): void;
  message(from: string, bytes: Buffer): void;
}

interface Link {
  readonly connection: Connection;
  readonly peer: HandshakePeer;
}

/** An accepted socket in its TLS handshake, before the cookie handshake. */
interface TlsAccept {
  readonly raw: Socket;
  readonly ip: string;
  /** `ip:port`, for logs. */
  readonly remote: string;
  readonly release: () => void;
}

/** Transitive dials (learnt from `peers` messages) in progress at most. */
const MAX_TRANSITIVE_DIALS = 16;

interface PendingDial {
  readonly promise: Promise<boolean>;
  cancel(): void;
}

/**
 * The connection table of the TCP dist: one authenticated link per peer node, the listener with
 * its pre-authentication caps, the simultaneous-connect and restart rules, and transitive connect.
 *
 * Simultaneous connects: when two nodes dial each other at once, the link started by the node
 * with the greater name (string order of canonical names) survives, on both sides.
 * Restarts: an authenticated newcomer with a known name but a new incarnation replaces the old
 * link if the old one does not answer a ping; if it does, the newcomer is a second live node with
 * the same name and is refused with `duplicate-name`.
 *
 * TLS: accepted sockets go through the same caps, then a TLS handshake (a `tls.Server` that never
 * listens runs it), then the cookie handshake; dialled ones through a TLS handshake, then the
 * cookie handshake. With mutual TLS and `verifyNodeName`, a client whose certificate does not
 * name the host of the node it proved the cookie for is refused with `certificate-name`.
 */
export class Mesh {
  readonly incarnation = randomBytes(8).toString('hex');
  private server: Server | undefined;
  private tlsServer: TlsServer | undefined;
  /** Accepted sockets in their TLS handshake, by remote address and port. */
  private readonly tlsAccepting = new Map<string, TlsAccept>();
  /** The accepted socket whose close is being reported (see `createTlsServer`). */
  private closingTlsAccept: TlsAccept | undefined;
  private listenPort: number | null = null;
  private readonly links = new Map<string, Link>();
  private readonly hiddenLinks = new Set<Link>();
  private readonly dialing = new Map<string, PendingDial>();
  private readonly unauthenticated = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  /** Waiters for a node to become linked, whichever side's connection wins. */
  private readonly linkWaiters = new Map<string, Set<(linked: boolean) => void>>();
  private closing = false;
  /** Transitive dials in progress (see `onControl`). */
  private transitiveDials = 0;
  private readonly refusalLog = new Map<string, number>();

  constructor(
    private readonly options: MeshOptions,
    private readonly events: MeshEvents,
    private readonly logger: ClusterLogger,
  ) {}

  /** The port the listener got (the fixed one, or the ephemeral one assigned). */
  get port(): number | null {
    return this.listenPort;
  }

  /** Starts listening. Rejects when the port is taken or the address is not local. */
  async listen(): Promise<number> {
    if (this.options.tls) this.tlsServer = this.createTlsServer(this.options.tls);
    const server = createServer({ noDelay: true }, socket => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.options.port, host: this.options.bind }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', error => this.logger.error(`Dist listener error: ${error.message}`));
    const address = server.address();
    this.listenPort = typeof address === 'object' && address ? address.port : this.options.port;
    return this.listenPort;
  }

  /** Connected member nodes (hidden links excluded). */
  members(): Peer[] {
    return [...this.links.values()].map(({ peer }) => peerOf(peer));
  }

  /** The link of a node, hidden or not. @internal */
  connectionTo(node: string): Connection | undefined {
    const link = this.links.get(node);
    if (link) return link.connection;
    for (const hidden of this.hiddenLinks) if (hidden.peer.name === node) return hidden.connection;
    return undefined;
  }

  /**
   * Dials a node; resolves `true` once linked (by this dial or by the peer's simultaneous one),
   * `false` when the link did not hold. Every way out (error, abort, a throw anywhere) settles the
   * dial and removes it from the dials in progress.
   */
  connect(peer: Peer, signal?: AbortSignal): Promise<boolean> {
    const node = peer.node;
    if (this.closing) return Promise.resolve(false);
    if (this.links.has(node)) return Promise.resolve(true);
    const pending = this.dialing.get(node);
    if (pending) return pending.promise;
    const abortError = () =>
      signal?.reason instanceof Error
        ? signal.reason
        : new ConnectError(M.dialAborted(node), { node });
    if (signal?.aborted) return Promise.reject(abortError());

    let resolvePromise!: (linked: boolean) => void;
    let rejectPromise!: (error: Error) => void;
    const promise = new Promise<boolean>((resolve, reject) => {
      resolvePromise = resolve;
      rejectPromise = reject;
    });
    let connection: Connection | undefined;
    let socket: Socket | undefined;
    let settled = false;
    const onAbort = () => finish(abortError());
    /** Settles the dial once; a dial that did not link leaves no socket behind. */
    const finish = (error?: Error, linked = false) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (this.dialing.get(node) === dial) this.dialing.delete(node);
      if (!linked) {
        if (connection) connection.close('connectionClosed');
        else socket?.destroy();
      }
      if (error) rejectPromise(error);
      else resolvePromise(linked);
    };
    const dial: PendingDial = { promise, cancel: () => finish(undefined, false) };
    this.dialing.set(node, dial);
    /** Runs `step`, settling the dial with whatever it throws. */
    const guarded = (step: () => void) => {
      if (settled) return;
      try {
        step();
      } catch (error) {
        finish(toError(error));
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    /** Runs the cookie handshake on a connected (and, with TLS, secured) socket. */
    const authenticate = (open: Socket, remote: string, tlsError?: () => Error | undefined) => {
      connection = new Connection(open, this.options, this.logger, { remote, node });
      const dialled = connection;
      const handshake = new InitiatorHandshake({
        self: this.identity(),
        cookie: this.options.cookie,
        expectedName: node,
      });
      dialled.handshake(handshake).then(
        result =>
          guarded(() => {
            if (this.closing) {
              dialled.close('stopped');
              finish(undefined, false);
              return;
            }
            const adopted = this.adopt(dialled, result.peer, 'out');
            // Lost the tie-break: linked all the same when the other link holds.
            finish(undefined, adopted || this.links.has(node));
          }),
        (error: Error) =>
          guarded(() => {
            if (
              error instanceof HandshakeError &&
              (error.reason === 'simultaneous' || error.reason === 'already-connected')
            ) {
              // The peer's own link to us wins; wait for it within the caller's deadline.
              this.waitForLink(node, signal).then(
                linked => finish(undefined, linked),
                (failure: unknown) => finish(toError(failure)),
              );
              return;
            }
            if (
              error instanceof HandshakeError &&
              error.byPeer &&
              error.reason === 'certificate-name'
            ) {
              // The peer checked our certificate against our node name and refused it.
              error = new TlsError(
                'ERR_TLS_CERT_NAME',
                TlsMessages.refusedOurName(node),
                { reason: 'certificate-name', peer: node },
                { cause: error },
              );
            } else if (
              !(error instanceof HandshakeError) &&
              !(error instanceof ConnectError) &&
              tlsError
            ) {
              // TLS 1.3 servers check client certificates after the client is done: a refusal
              // arrives as an alert or, when Node refuses the certificate, as a bare close.
              const late = tlsError();
              error = late
                ? toTlsError(late, node)
                : new TlsError(
                    'ERR_TLS_HANDSHAKE',
                    TlsMessages.closedAfterTls(node),
                    { reason: 'closed', peer: node },
                    { cause: error },
                  );
            }
            if (error instanceof HandshakeError) this.logRefusal(node, error);
            else if (error instanceof TlsError && !this.closing && !signal?.aborted) {
              this.logTlsFailure(node, error);
            }
            finish(error);
          }),
      );
    };

    guarded(() => {
      const port = peer.port ?? this.options.port;
      if (!port) throw new ConnectError(M.noPort(node), { node });
      const { host } = parseNodeName(node);
      const dialHost =
        isIP(host) || !this.options.lookup ? Promise.resolve(host) : this.options.lookup(host);
      dialHost.then(
        address =>
          guarded(() => {
            const remote = `${address.includes(':') ? `[${address}]` : address}:${port}`;
            const tls = this.options.tls;
            if (!tls) {
              socket = netConnect({ host: address, port, noDelay: true });
              authenticate(socket, remote);
              return;
            }
            const secure = dialTls(tls, node, address, port);
            socket = secure;
            const tlsState = awaitSecureConnect(
              secure,
              tls,
              node,
              () => guarded(() => authenticate(secure, remote, () => tlsState.lastError())),
              error => {
                if (error instanceof TlsError && !this.closing && !signal?.aborted) {
                  this.logTlsFailure(node, error);
                }
                finish(error);
              },
            );
          }),
        (error: unknown) => finish(toError(error)),
      );
    });
    return promise;
  }

  /** @internal For tests: every link stops reading and writing. */
  freeze(): void {
    for (const link of [...this.links.values(), ...this.hiddenLinks]) link.connection.freeze();
  }

  /** Drops the link to a node. */
  disconnect(node: string): boolean {
    const link = this.links.get(node);
    if (!link) return false;
    link.connection.close('disconnected');
    return true;
  }

  /** Tells every peer this node leaves, then closes the links. */
  async leave(): Promise<void> {
    this.closing = true;
    this.server?.close();
    for (const dial of this.dialing.values()) dial.cancel();
    const all = [...this.links.values(), ...this.hiddenLinks];
    await Promise.all(all.map(link => link.connection.leave()));
  }

  /** Closes everything at once. */
  async close(): Promise<void> {
    this.closing = true;
    for (const dial of this.dialing.values()) dial.cancel();
    for (const connection of this.unauthenticated) connection.close('stopped');
    for (const { raw } of this.tlsAccepting.values()) raw.destroy();
    for (const link of [...this.links.values(), ...this.hiddenLinks])
      link.connection.close('stopped');
    for (const waiters of this.linkWaiters.values()) for (const waiter of waiters) waiter(false);
    this.linkWaiters.clear();
    const server = this.server;
    if (server) await new Promise<void>(resolve => server.close(() => resolve()));
  }

  // --- inbound -------------------------------------------------------------------------------

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '?';
    const fromIp = this.perIp.get(ip) ?? 0;
    const pending = this.unauthenticated.size + this.tlsAccepting.size;
    if (
      this.closing ||
      pending >= this.options.maxPendingHandshakes ||
      fromIp >= this.options.maxPendingHandshakesPerIp
    ) {
      socket.destroy();
      this.logRateLimited(
        `cap:${ip}`,
        `Refused a connection from ${ip}: too many handshakes in progress.`,
      );
      return;
    }
    this.perIp.set(ip, fromIp + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    };
    if (!this.tlsServer) {
      this.authenticate(socket, ip, release);
      return;
    }
    // TLS first: the TLS server runs the handshake on this socket and reports it by address.
    if (socket.remotePort === undefined || socket.remoteAddress === undefined) {
      socket.destroy(); // already gone
      release();
      return;
    }
    const key = `${ip}|${socket.remotePort ?? '?'}`;
    const entry: TlsAccept = {
      raw: socket,
      ip,
      remote: `${ip}:${socket.remotePort ?? '?'}`,
      release,
    };
    this.tlsAccepting.set(key, entry);
    socket.once('close', () => {
      if (this.tlsAccepting.get(key) !== entry) return;
      this.tlsAccepting.delete(key);
      release();
      // A TLS socket that ends by a close (a certificate Node refused, a peer that hung up)
      // reports its 'tlsClientError' within this very 'close' emit, with its address gone.
      this.closingTlsAccept = entry;
      process.nextTick(() => {
        if (this.closingTlsAccept === entry) this.closingTlsAccept = undefined;
      });
    });
    this.tlsServer.emit('connection', socket);
  }

  /** The TLS server of accepted sockets; it never listens (the plain listener applies the caps). */
  private createTlsServer(tls: ResolvedTls): TlsServer {
    const server = createTlsServer(tls.server);
    server.on('secureConnection', (socket: TLSSocket) => {
      const key = `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;
      const entry = this.tlsAccepting.get(key);
      if (!entry) {
        socket.destroy();
        return;
      }
      this.tlsAccepting.delete(key);
      if (this.closing) {
        socket.destroy();
        entry.release();
        return;
      }
      if (tls.mutual && !socket.authorized) {
        // Not reached: rejectUnauthorized refuses such clients before 'secureConnection'.
        socket.destroy();
        entry.release();
        this.logRateLimited(
          `tls:${entry.ip}:unauthorized`,
          TlsMessages.unauthorized(
            `${entry.ip}:${socket.remotePort ?? '?'}`,
            String(socket.authorizationError),
          ),
        );
        return;
      }
      this.authenticate(socket, entry.ip, entry.release, socket);
    });
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      const key = `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;
      const entry = this.tlsAccepting.get(key) ?? this.closingTlsAccept;
      socket.destroy();
      if (entry && this.tlsAccepting.get(key) === entry) {
        this.tlsAccepting.delete(key);
        entry.release();
        entry.raw.destroy();
      }
      if (this.closing) return;
      // A certificate that fails verification is refused by Node after the TLS handshake, as a
      // close (no alert): the verification error says why.
      const code = socket.authorizationError ? String(socket.authorizationError) : undefined;
      const why = code
        ? Object.assign(new Error(`the client certificate failed verification (${code})`), { code })
        : error;
      const failure = toTlsError(why, entry?.remote ?? 'an unknown address');
      this.logRateLimited(`tls:${entry?.ip ?? '?'}:${failure.reason}`, failure.message);
    });
    return server;
  }

  /** Runs the cookie handshake of an accepted (and, with TLS, secured) socket. */
  private authenticate(
    socket: Socket,
    ip: string,
    release: () => void,
    tlsSocket?: TLSSocket,
  ): void {
    const remote = `${ip.includes(':') ? `[${ip}]` : ip}:${socket.remotePort ?? '?'}`;
    const connection = new Connection(socket, this.options, this.logger, { remote });
    this.unauthenticated.add(connection);
    const done = () => {
      this.unauthenticated.delete(connection);
      release();
    };
    const handshake = new AcceptorHandshake({
      self: this.identity(),
      cookie: this.options.cookie,
      decide: peer => {
        const refusal = tlsSocket && this.checkClientCertificate(tlsSocket, ip, peer.name);
        return refusal ?? this.decide(peer);
      },
    });
    connection.handshake(handshake).then(
      result => {
        done();
        if (this.closing) {
          connection.close('stopped');
          return;
        }
        try {
          this.adopt(connection, result.peer, 'in');
        } catch (error) {
          connection.close('connectionClosed', toError(error));
          this.logger.error(
            `Adopting the link from ${connection.remote} failed: ${toError(error).message}`,
          );
        }
      },
      (error: Error) => {
        done();
        // certificate-name refusals were logged with their details by checkClientCertificate
        if (
          error instanceof HandshakeError &&
          !['simultaneous', 'already-connected', 'certificate-name'].includes(error.reason)
        ) {
          this.logRefusal(`${ip}`, error);
        }
      },
    );
  }

  /**
   * With mutual TLS and `verifyNodeName`: the client's certificate must name the host of the node
   * it proved the cookie for. Returns the refusal when it does not, after logging it.
   */
  private checkClientCertificate(
    socket: TLSSocket,
    ip: string,
    node: string,
  ): HandshakeDecision | undefined {
    const tls = this.options.tls;
    if (!tls?.mutual || !tls.verifyNodeName) return undefined;
    const names = clientCertificateNameProblem(socket, node);
    if (names === undefined) return undefined;
    const remote = `${ip}:${socket.remotePort ?? '?'}`;
    this.logRateLimited(
      `tls:${ip}:certificate-name:${node}`,
      TlsMessages.clientName(remote, node, names),
    );
    return { ok: false, reason: 'certificate-name' };
  }

  /** One warning per peer and reason, as for refused handshakes. */
  private logTlsFailure(peer: string, error: TlsError): void {
    this.logRateLimited(`tls:${peer}:${error.reason}`, error.message);
  }

  /** Verdict on an authenticated inbound link (see the class comment for the rules). */
  private async decide(peer: HandshakePeer): Promise<HandshakeDecision> {
    if (this.closing) return { ok: false, reason: 'stopping' };
    if (peer.hidden) return { ok: true };
    const existing = this.links.get(peer.name);
    if (existing && existing.peer.incarnation !== peer.incarnation) {
      const alive = await existing.connection.ping(Math.min(this.options.failureTimeoutMs, 2_000));
      if (alive && this.links.get(peer.name) === existing)
        return { ok: false, reason: 'duplicate-name' };
      return { ok: true }; // a restart: adopt() replaces the old incarnation
    }
    // Same node linked or being dialled: the link started by the greater name is the one kept.
    if ((existing || this.dialing.has(peer.name)) && peer.name < this.options.self) {
      return { ok: false, reason: existing ? 'already-connected' : 'simultaneous' };
    }
    return { ok: true };
  }

  // --- links ---------------------------------------------------------------------------------

  /**
   * Takes an authenticated connection as the link to its node. Returns `false` when it is not
   * kept: it closed meanwhile, or it lost the simultaneous-connect tie-break.
   */
  private adopt(connection: Connection, peer: HandshakePeer, direction: 'in' | 'out'): boolean {
    if (connection.isClosed) return false;
    const link: Link = { connection, peer };
    if (peer.hidden) {
      this.hiddenLinks.add(link);
      connection.establish(peer, {
        onMessage: bytes => this.events.message(peer.name, bytes),
        onControl: () => undefined,
        onClose: () => this.hiddenLinks.delete(link),
      });
      connection.deliverEarly();
      return !connection.isClosed;
    }
    const previous = this.links.get(peer.name);
    let replaced = false;
    if (previous) {
      if (previous.peer.incarnation !== peer.incarnation) {
        // A restart: the old incarnation goes down before the new one comes up.
        this.links.delete(peer.name);
        previous.connection.close('restarted');
        this.events.nodeDown(peer.name, 'restarted');
      } else {
        // Two links to one node (simultaneous connects that both got through): keep the one
        // started by the greater name, as the other side does, without a membership change.
        const initiator = direction === 'out' ? this.options.self : peer.name;
        const greater = this.options.self > peer.name ? this.options.self : peer.name;
        if (initiator !== greater) {
          connection.close('connectionClosed');
          return false;
        }
        replaced = true;
      }
    }
    this.links.set(peer.name, link);
    connection.establish(peer, {
      onMessage: bytes => this.events.message(peer.name, bytes),
      onControl: message => this.onControl(peer.name, message),
      onClose: reason => {
        if (this.links.get(peer.name) !== link) return;
        this.links.delete(peer.name);
        this.events.nodeDown(peer.name, reason);
      },
    });
    if (replaced) {
      // What was not yet sent on the old link goes out on the new one, not lost with it.
      connection.takeQueue(previous!.connection);
      previous!.connection.close('connectionClosed');
      connection.deliverEarly();
      return !connection.isClosed;
    }
    this.events.nodeUp(peerOf(peer));
    for (const waiter of this.linkWaiters.get(peer.name) ?? []) waiter(true);
    this.linkWaiters.delete(peer.name);
    if (this.options.transitive) this.sharePeers(link);
    // Only now, with the node a member, may its first messages reach the handlers.
    connection.deliverEarly();
    return !connection.isClosed;
  }

  /**
   * Waits until `node` is linked, by whichever side's connection; `false` on abort, on close of
   * the mesh, or after the handshake deadline when no signal bounds the wait.
   */
  private waitForLink(node: string, signal?: AbortSignal): Promise<boolean> {
    if (this.links.has(node)) return Promise.resolve(true);
    if (this.closing || signal?.aborted) return Promise.resolve(false);
    return new Promise(resolve => {
      const waiters = this.linkWaiters.get(node) ?? new Set();
      this.linkWaiters.set(node, waiters);
      const done = (linked: boolean) => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.linkWaiters.get(node) === waiters) {
          this.linkWaiters.delete(node);
        }
        signal?.removeEventListener('abort', onAbort);
        resolve(linked);
      };
      const onAbort = () => done(false);
      const timer = signal
        ? undefined
        : setTimeout(() => done(false), this.options.handshakeTotalTimeoutMs);
      timer?.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.add(done);
    });
  }

  /** Transitive connect (Erlang's `connect_all`): tell a new peer who else is in the cluster. */
  private sharePeers(link: Link): void {
    const others = [...this.links.values()]
      .filter(other => other !== link && other.peer.listenPort !== null)
      .map(other => ({ node: other.peer.name, port: other.peer.listenPort }));
    if (others.length) link.connection.sendControl({ type: 'peers', peers: others });
  }

  /**
   * A control message from a linked peer. Nothing in it may crash the process or grow memory
   * without bound: each entry is validated, and at most {@link MAX_TRANSITIVE_DIALS} transitive
   * dials run at once (the rest are dropped; discovery finds those nodes anyway).
   */
  private onControl(from: string, message: unknown): void {
    if (!this.options.transitive || typeof message !== 'object' || message === null) return;
    const { type, peers } = message as { type?: unknown; peers?: unknown };
    if (type !== 'peers' || !Array.isArray(peers)) return;
    let dropped = 0;
    for (const entry of peers.slice(0, 10_000) as unknown[]) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { node: name, port } = entry as { node?: unknown; port?: unknown };
      if (typeof name !== 'string' || (port !== undefined && typeof port !== 'number')) continue;
      let peer: Peer;
      try {
        peer = toPeer(port === undefined ? { node: name } : { node: name, port });
      } catch (error) {
        this.logger.debug?.(M.badPeerEntry(from, toError(error).message));
        continue;
      }
      const node = peer.node;
      if (node === this.options.self || this.links.has(node) || this.dialing.has(node)) continue;
      if (this.transitiveDials >= MAX_TRANSITIVE_DIALS) {
        dropped++;
        continue;
      }
      this.transitiveDials++;
      let dial: Promise<boolean>;
      try {
        dial = this.connect(peer, AbortSignal.timeout(this.options.handshakeTotalTimeoutMs));
      } catch (error) {
        dial = Promise.reject(toError(error));
      }
      dial
        .catch(error =>
          this.logger.debug?.(
            `Transitive connect to ${node} (learnt from ${from}) failed: ${toError(error).message}`,
          ),
        )
        .finally(() => this.transitiveDials--);
    }
    if (dropped > 0) this.logger.debug?.(M.transitiveDropped(from, dropped, MAX_TRANSITIVE_DIALS));
  }

  private identity(): HandshakeIdentity {
    return {
      name: this.options.self,
      incarnation: this.incarnation,
      listenPort: this.listenPort,
      hidden: this.options.hidden,
      heartbeatMs: this.options.heartbeatMs,
      failureTimeoutMs: this.options.failureTimeoutMs,
    };
  }

  private logRefusal(peer: string, error: HandshakeError): void {
    this.logRateLimited(
      `${peer}:${error.reason}`,
      `Handshake with ${peer} failed: ${error.message}`,
    );
  }

  /** One warning per key and minute, so a hostile or misconfigured peer cannot flood the log. */
  private logRateLimited(key: string, message: string): void {
    const now = performance.now();
    const last = this.refusalLog.get(key);
    if (last !== undefined && now - last < 60_000) return;
    if (this.refusalLog.size > 1_000) this.refusalLog.clear();
    this.refusalLog.set(key, now);
    this.logger.warn(message);
  }
}

function peerOf(peer: HandshakePeer): Peer {
  return peer.listenPort === null
    ? { node: peer.name }
    : { node: peer.name, port: peer.listenPort };
}

/** An `Error` for anything thrown, keeping native errors of any realm as they are. */
function toError(value: unknown): Error {
  return types.isNativeError(value) ? value : coreToError(value);
}
