import { type Server, type Socket, createServer } from 'node:net';
import {
  type Server as TlsServer,
  type TLSSocket,
  createServer as createTlsServer,
} from 'node:tls';
import { type ClusterLogger, toError } from '../../core/index.js';
import { Connection } from './connection.js';
import {
  AcceptorHandshake,
  CAPABILITY_HEADERS,
  type HandshakeDecision,
  type HandshakeIdentity,
  type HandshakePeer,
} from './handshake/index.js';
import type { LinkLog } from './link-log.js';
import type { MeshOptions } from './mesh.types.js';
import { HandshakeError, type TlsError } from './tcp.errors.js';
import { ListenerHealth } from './tcp-stats.js';
import { TcpMessages as M, TlsMessages } from './tcp.messages.js';
import type { ResolvedTls } from './tls-options.js';
import { clientCertificateNameProblem, toTlsError } from './tls-socket.js';

/** What the {@link Listener} asks of the rest of the mesh. */
export interface ListenerHooks {
  /** The mesh is closing: refuse everything. */
  closing(): boolean;
  /** This node, as the handshake presents it. */
  identity(): HandshakeIdentity;
  /** Verdict on an authenticated peer (link rules). */
  decide(peer: HandshakePeer): Promise<HandshakeDecision>;
  /** Takes an authenticated inbound connection as a link. */
  adopt(connection: Connection, peer: HandshakePeer): void;
  /** A handshake failed or was refused (counted; see `TcpStats`). */
  refused(failure: HandshakeError | TlsError | 'capacity'): void;
}

/** An accepted socket in its TLS handshake, before the cookie handshake. */
interface TlsAccept {
  readonly raw: Socket;
  readonly ip: string;
  /** `ip:port`, for logs. */
  readonly remote: string;
  readonly release: () => void;
}

/** Handshake refusals not logged here: tie-breaks are normal, certificate names logged apart. */
const QUIET_REFUSALS = ['simultaneous', 'already-connected', 'certificate-name'];

/**
 * The inbound side of the mesh: the listening socket, the pre-authentication caps (in all and per
 * source address; over them a connection is closed at once), the TLS handshake of accepted
 * sockets (a `tls.Server` that never listens runs it, so the caps apply before TLS), and the
 * cookie handshake of accepted sockets up to the link table. With mutual TLS and
 * `verifyNodeName`, a client whose certificate does not name the host of the node it proved the
 * cookie for is refused with `certificate-name`.
 */
export class Listener {
  private server: Server | undefined;
  private tlsServer: TlsServer | undefined;
  /** Accepted sockets in their TLS handshake, by remote address and port. */
  private readonly tlsAccepting = new Map<string, TlsAccept>();
  /** The accepted socket whose close is being reported (see `createTlsServer`). */
  private closingTlsAccept: TlsAccept | undefined;
  private listenPort: number | null = null;
  private readonly unauthenticated = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  /** Whether the listening socket is still there (for the dist's health). */
  readonly health = new ListenerHealth();

  constructor(
    private readonly options: MeshOptions,
    private readonly hooks: ListenerHooks,
    private readonly log: LinkLog,
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
    server.on('error', error => this.logger.error(M.listenerError(error.message)));
    this.health.watch(server);
    const address = server.address();
    this.listenPort = typeof address === 'object' && address ? address.port : this.options.port;
    return this.listenPort;
  }

  /** Stops accepting connections; those in progress go on. */
  stopAccepting(): void {
    this.health.stop();
    this.server?.close();
  }

  /** Closes every connection not yet authenticated, at once. */
  dropPending(): void {
    for (const connection of this.unauthenticated) connection.close('stopped');
    for (const { raw } of this.tlsAccepting.values()) raw.destroy();
  }

  /** Stops accepting and waits for the listening socket to close. */
  async close(): Promise<void> {
    const server = this.server;
    this.health.stop();
    if (server) await new Promise<void>(resolve => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '?';
    const fromIp = this.perIp.get(ip) ?? 0;
    const pending = this.unauthenticated.size + this.tlsAccepting.size;
    if (
      this.hooks.closing() ||
      pending >= this.options.maxPendingHandshakes ||
      fromIp >= this.options.maxPendingHandshakesPerIp
    ) {
      socket.destroy();
      if (!this.hooks.closing()) this.hooks.refused('capacity');
      this.log.warn(`cap:${ip}`, M.tooManyHandshakes(ip));
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
    const key = `${ip}|${socket.remotePort}`;
    const entry: TlsAccept = { raw: socket, ip, remote: `${ip}:${socket.remotePort}`, release };
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
      if (this.hooks.closing()) {
        socket.destroy();
        entry.release();
        return;
      }
      if (tls.mutual && !socket.authorized) {
        // Not reached: rejectUnauthorized refuses such clients before 'secureConnection'.
        socket.destroy();
        entry.release();
        this.log.warn(
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
      if (this.hooks.closing()) return;
      // A certificate that fails verification is refused by Node after the TLS handshake, as a
      // close (no alert): the verification error says why.
      const code = socket.authorizationError ? String(socket.authorizationError) : undefined;
      const why = code
        ? Object.assign(new Error(TlsMessages.clientUnverified(code)), { code })
        : error;
      const failure = toTlsError(why, entry?.remote ?? TlsMessages.unknownAddress());
      this.hooks.refused(failure);
      this.log.warn(`tls:${entry?.ip ?? '?'}:${failure.reason}`, failure.message);
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
      self: this.hooks.identity(),
      cookie: this.options.cookie,
      namespace: this.options.namespace,
      capabilities: [CAPABILITY_HEADERS],
      decide: peer => {
        const refusal = tlsSocket && this.checkClientCertificate(tlsSocket, ip, peer.name);
        return refusal ?? this.hooks.decide(peer);
      },
    });
    connection.handshake(handshake).then(
      result => {
        done();
        if (this.hooks.closing()) {
          connection.close('stopped');
          return;
        }
        try {
          this.hooks.adopt(connection, result.peer);
        } catch (error) {
          connection.close('connectionClosed', toError(error));
          this.logger.error(M.adoptFailed(connection.remote, toError(error).message));
        }
      },
      (error: Error) => {
        done();
        // Failed because this node is closing (`stopping`, or a `timeout` once it stopped
        // answering): ours, not a refusal, as on the dialling side and the capacity path.
        if (this.hooks.closing()) return;
        if (error instanceof HandshakeError) this.hooks.refused(error);
        if (error instanceof HandshakeError && !QUIET_REFUSALS.includes(error.reason)) {
          this.log.refusal(ip, error);
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
    this.log.warn(
      `tls:${ip}:certificate-name:${node}`,
      TlsMessages.clientName(remote, node, names),
    );
    return { ok: false, reason: 'certificate-name' };
  }
}
