import { type LookupFunction, type Socket, connect as netConnect, isIP } from 'node:net';
import {
  type ClusterLogger,
  ConnectError,
  type Peer,
  parseNodeName,
  toError,
} from '../../core/index.js';
import { Connection } from './connection.js';
import {
  CAPABILITY_HEADERS,
  type HandshakeIdentity,
  type HandshakePeer,
  InitiatorHandshake,
} from './handshake/index.js';
import type { LinkLog } from './link-log.js';
import type { MeshOptions } from './mesh.types.js';
import { HandshakeError, TlsError } from './tcp.errors.js';
import { TcpMessages as M, TlsMessages } from './tcp.messages.js';
import { awaitSecureConnect, dialTls, toTlsError } from './tls-socket.js';

/** What a {@link Dial} asks of the mesh. */
export interface DialHooks {
  readonly options: MeshOptions;
  readonly logger: ClusterLogger;
  readonly log: LinkLog;
  /** The mesh is closing: a link that comes up now is closed at once. */
  closing(): boolean;
  /** This node, as the handshake presents it. */
  identity(): HandshakeIdentity;
  /** Takes an authenticated outbound connection as a link; `false` when it is not kept. */
  adopt(connection: Connection, peer: HandshakePeer): boolean;
  /** Whether `node` is linked (by either side's connection). */
  linked(node: string): boolean;
  /** Waits until `node` is linked by the peer's own connection. */
  waitForLink(node: string, signal?: AbortSignal): Promise<boolean>;
  /** The dial settled: it is no longer in progress. */
  settled(dial: Dial): void;
  /** The handshake failed or the peer refused it (counted; see `TcpStats`). */
  refused(failure: HandshakeError | TlsError): void;
}

/** The rejection of a dial aborted by `signal`: its reason when an `Error`, else a `ConnectError`. */
export function dialAbortedError(node: string, signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new ConnectError(M.dialAborted(node), { node });
}

/**
 * One dial of a peer node: resolve its address, open the socket (with TLS, run the TLS handshake
 * first), run the cookie handshake as initiator, and hand the link to the mesh. `promise`
 * resolves `true` once linked (by this dial or by the peer's simultaneous one), `false` when the
 * link did not hold, and rejects with the failure. Every way out (error, abort, a throw anywhere)
 * settles the dial exactly once, and a dial that did not link leaves no socket behind.
 */
export class Dial {
  /** Settles as the class comment says. */
  readonly promise: Promise<boolean>;
  /** The node dialled. */
  readonly node: string;
  private resolvePromise!: (linked: boolean) => void;
  private rejectPromise!: (error: Error) => void;
  private connection: Connection | undefined;
  private socket: Socket | undefined;
  private done = false;
  private readonly onAbort = () => this.finish(dialAbortedError(this.node, this.signal!));

  constructor(
    private readonly peer: Peer,
    private readonly signal: AbortSignal | undefined,
    private readonly hooks: DialHooks,
  ) {
    this.node = peer.node;
    this.promise = new Promise<boolean>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
  }

  /** Starts dialling; the outcome is {@link Dial.promise}. */
  start(): void {
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.guarded(() => {
      const { options } = this.hooks;
      const port = this.peer.port ?? options.port;
      if (!port) throw new ConnectError(M.noPort(this.node), { node: this.node });
      const { host } = parseNodeName(this.node);
      const addresses =
        isIP(host) || !options.lookup ? Promise.resolve([host]) : options.lookup(host);
      addresses.then(
        resolved => this.guarded(() => this.open(host, resolved, port)),
        (error: unknown) => this.finish(toError(error)),
      );
    });
  }

  /** Gives up: the dial resolves `false`. */
  cancel(): void {
    this.finish(undefined, false);
  }

  /**
   * Opens the socket to `host` (resolved to `addresses`) on `port`, plain or TLS, then
   * authenticates. One address is dialled as it is; several (a dual-stack name) go through
   * Node's Happy Eyeballs, which tries each in turn, so the one that answers is used.
   */
  private open(host: string, addresses: readonly string[], port: number): void {
    const target = addressTarget(host, addresses, this.hooks.options.handshakeStepTimeoutMs);
    const shown = addresses.length === 1 ? addresses[0]! : host;
    const remote = `${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
    const tls = this.hooks.options.tls;
    if (!tls) {
      const socket = netConnect({ ...target, port, noDelay: true });
      this.socket = socket;
      this.authenticate(socket, remote);
      return;
    }
    const secure = dialTls(tls, this.node, target, port);
    this.socket = secure;
    const tlsState = awaitSecureConnect(
      secure,
      tls,
      this.node,
      () => this.guarded(() => this.authenticate(secure, remote, () => tlsState.lastError())),
      error => {
        if (error instanceof TlsError) this.logFailure(error);
        this.finish(error);
      },
    );
  }

  /** Runs the cookie handshake on a connected (and, with TLS, secured) socket. */
  private authenticate(open: Socket, remote: string, lateTlsError?: () => Error | undefined): void {
    const { options, logger } = this.hooks;
    const connection = new Connection(open, options, logger, { remote, node: this.node });
    this.connection = connection;
    const handshake = new InitiatorHandshake({
      self: this.hooks.identity(),
      cookie: options.cookie,
      namespace: options.namespace,
      capabilities: [CAPABILITY_HEADERS],
      expectedName: this.node,
    });
    connection.handshake(handshake).then(
      result => this.guarded(() => this.authenticated(connection, result.peer)),
      (error: Error) => this.guarded(() => this.refused(error, lateTlsError)),
    );
  }

  private authenticated(connection: Connection, peer: HandshakePeer): void {
    if (this.hooks.closing()) {
      connection.close('stopped');
      this.finish(undefined, false);
      return;
    }
    const adopted = this.hooks.adopt(connection, peer);
    // Lost the tie-break: linked all the same when the other link holds.
    this.finish(undefined, adopted || this.hooks.linked(this.node));
  }

  private refused(error: Error, lateTlsError?: () => Error | undefined): void {
    const node = this.node;
    if (
      error instanceof HandshakeError &&
      (error.reason === 'simultaneous' || error.reason === 'already-connected')
    ) {
      // The peer's own link to us wins; wait for it within the caller's deadline.
      this.hooks.waitForLink(node, this.signal).then(
        linked => this.finish(undefined, linked),
        (failure: unknown) => this.finish(toError(failure)),
      );
      return;
    }
    let failure = error;
    if (error instanceof HandshakeError && error.byPeer && error.reason === 'certificate-name') {
      // The peer checked our certificate against our node name and refused it.
      failure = new TlsError(TlsMessages.refusedOurName(node), {
        reason: 'certificate-name',
        peer: node,
        cause: error,
      });
    } else if (
      !(error instanceof HandshakeError) &&
      !(error instanceof ConnectError) &&
      lateTlsError
    ) {
      // TLS 1.3 servers check client certificates after the client is done: a refusal arrives
      // as an alert or, when Node refuses the certificate, as a bare close.
      const late = lateTlsError();
      failure = late
        ? toTlsError(late, node)
        : new TlsError(TlsMessages.closedAfterTls(node), {
            reason: 'closed',
            peer: node,
            cause: error,
          });
    }
    if (failure instanceof HandshakeError || failure instanceof TlsError) this.logFailure(failure);
    this.finish(failure);
  }

  /**
   * Counted, and a debug line (the engine reports failed connects), unless the dial was given up
   * anyway (then the failure is ours, not a refusal).
   */
  private logFailure(error: HandshakeError | TlsError): void {
    if (this.hooks.closing() || this.signal?.aborted) return;
    this.hooks.refused(error);
    this.hooks.log.dialFailure(this.node, error);
  }

  /** Settles the dial once; a dial that did not link leaves no socket behind. */
  private finish(error?: Error, linked = false): void {
    if (this.done) return;
    this.done = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.hooks.settled(this);
    if (!linked) {
      if (this.connection) this.connection.close('connectionClosed');
      else this.socket?.destroy();
    }
    if (error) this.rejectPromise(error);
    else this.resolvePromise(linked);
  }

  /** Runs `step`, settling the dial with whatever it throws. */
  private guarded(step: () => void): void {
    if (this.done) return;
    try {
      step();
    } catch (error) {
      this.finish(toError(error));
    }
  }
}

/** Where a socket connects: the one address, or `host` with a lookup answering all of them. */
export interface AddressTarget {
  readonly host: string;
  readonly lookup?: LookupFunction;
  readonly autoSelectFamily?: boolean;
  readonly autoSelectFamilyAttemptTimeout?: number;
}

/**
 * The connect options that dial one of `addresses` (already resolved for `host`). Each address
 * gets an equal share of a handshake step (at least Node's 250 ms): Node's default of 250 ms per
 * address would abandon a slow but working address (a long round trip, a lost SYN) for the next.
 */
export function addressTarget(
  host: string,
  addresses: readonly string[],
  stepMs: number,
): AddressTarget {
  if (addresses.length === 1) return { host: addresses[0]! };
  const all = addresses.map(address => ({ address, family: isIP(address) }));
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, all);
    else callback(null, all[0]!.address, all[0]!.family);
  };
  const autoSelectFamilyAttemptTimeout = Math.max(250, Math.floor(stepMs / addresses.length));
  return { host, lookup, autoSelectFamily: true, autoSelectFamilyAttemptTimeout };
}
