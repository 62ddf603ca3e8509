/**
 * NatsLink: one connection to NATS for the NATS dist or the NATS discovery. It loads the client
 * lazily, waits (bounded) for the first connect and then keeps connecting in the background
 * (a node may start while NATS is down), never gives up reconnecting, reports each change of
 * connectivity, refuses to publish while cut off (nothing is buffered for later), keeps
 * subscriptions across reconnects, and closes within a second.
 */
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { RateLimitedLog, loadOptional, toError } from '../../core/index.js';
import {
  type NatsClientModule,
  buildAuthenticator,
  buildClientOptions,
  clientSaysConnected,
  destroyClientSocket,
  describeClientError,
  fatalFirstConnectError,
  isAuthError,
  pendingOutboundBytes,
  withDeadline,
} from './nats-client-setup.js';
import {
  NatsConnectionError,
  NatsNotConnectedError,
  NatsPayloadTooLargeError,
} from './nats-connection.errors.js';
import { NatsConnectionMessages as M } from './nats-connection.messages.js';
import {
  NATS_CONNECTION_DEFAULTS,
  type ResolvedNatsConnection,
} from './nats-connection-options.js';
import type { NatsLinkPorts, NatsLinkStats } from './nats-link.types.js';
import { NatsSubscriptions } from './nats-subscriptions.js';
import { clientCertFault } from './nats-tls-probe.js';

/** The window of the rate-limited log lines (handlers that throw, connect failures, ...). */
const LOG_WINDOW_MS = 30_000;

/** How long a stale connection may take to close by itself before its socket is destroyed. */
const STALE_GRACE_MS = 250;

/** A connection to NATS; see the file header. */
export class NatsLink {
  #connected = false;
  private nc: NatsConnection | undefined;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  private readonly log = new RateLimitedLog(LOG_WINDOW_MS);
  private readonly subs: NatsSubscriptions;
  private readonly servers: string;
  private everConnected = false;
  private base = { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0 };
  private reconnects = 0;
  private wake: (() => void) | undefined;
  /** Set between a stale connection and its disconnect: destroys the socket if that hangs. */
  private staleTimer: NodeJS.Timeout | undefined;
  private firstOutcome:
    | { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined }
    | undefined;

  private constructor(
    private readonly mod: NatsClientModule,
    private readonly o: ResolvedNatsConnection,
    private readonly ports: NatsLinkPorts,
    private readonly authenticator: ReturnType<typeof buildAuthenticator>,
  ) {
    this.servers = o.servers.map(s => s.url).join(', ');
    this.subs = new NatsSubscriptions(ports.logger, this.log);
  }

  /**
   * Loads the client, then connects: resolves once connected or after `firstConnectWaitMs`
   * (reporting `status(false, ...)` then and connecting in the background), whichever is first.
   * @throws OptionalPackageMissingError without `@nats-io/transport-node`; InvalidConfigError for an
   *   nkey seed or creds file that cannot sign; NatsConnectionError `ERR_NATS_AUTH` (credentials
   *   refused) or `ERR_NATS_TLS` (certificate refused, TLS not offered) at the first connect, or
   *   `ERR_NATS_CONNECT` when `ports.signal` aborts before it resolves.
   */
  static async open(o: ResolvedNatsConnection, ports: NatsLinkPorts): Promise<NatsLink> {
    const mod = await loadOptional(
      '@nats-io/transport-node',
      'the NATS dist and discovery',
      () => import('@nats-io/transport-node'),
    );
    const link = new NatsLink(mod, o, ports, buildAuthenticator(mod, o));
    await link.start();
    return link;
  }

  /** Whether the link is connected to a server now. */
  get connected(): boolean {
    return this.#connected && !this.closing;
  }

  /** The server connected to (`host:port`), `undefined` while cut off. */
  get server(): string | undefined {
    return this.connected ? this.nc?.getServer() : undefined;
  }

  /** The server's max_payload once known, else 1 MiB. */
  get maxPayload(): number {
    const known = this.nc?.info?.max_payload;
    return typeof known === 'number' && known > 0 ? known : NATS_CONNECTION_DEFAULTS.maxPayload;
  }

  /**
   * Sends `payload` to `subject`. The client keeps a reference to `payload` until the next
   * microtask (when it copies it out): do not change the bytes before then.
   * @throws NatsNotConnectedError while cut off or closed (nothing sent, nothing kept);
   *   NatsPayloadTooLargeError over the server's max_payload.
   */
  publish(subject: string, payload: Uint8Array): void {
    const nc = this.nc;
    if (nc === undefined || !this.connected || !clientSaysConnected(nc))
      throw new NatsNotConnectedError(M.notConnected(this.whyNotConnected()));
    const max = this.maxPayload;
    if (payload.length > max)
      throw new NatsPayloadTooLargeError(M.payloadTooLarge(payload.length, max), {
        bytes: payload.length,
        maxPayload: max,
      });
    try {
      nc.publish(subject, payload);
    } catch (error) {
      if (nc.isClosed() || !clientSaysConnected(nc))
        throw new NatsNotConnectedError(M.notConnected(this.whyNotConnected()), { cause: error });
      throw error;
    }
  }

  /**
   * Calls `handler` with the payload of each message on `subject` (wildcards allowed), across
   * reconnects, until the returned function is called. A handler that throws is logged
   * (rate-limited); the client goes on.
   */
  subscribe(subject: string, handler: (payload: Uint8Array) => void): () => void {
    return this.subs.add(subject, handler);
  }

  /**
   * Waits until the server has processed everything published so far.
   * @throws NatsNotConnectedError while cut off (or when the connection drops meanwhile);
   *   NatsConnectionError `ERR_NATS_FLUSH_TIMEOUT` after `timeoutMs` (default 5000).
   */
  async flush(timeoutMs: number = NATS_CONNECTION_DEFAULTS.flushTimeoutMs): Promise<void> {
    const nc = this.nc;
    if (nc === undefined || !this.connected)
      throw new NatsNotConnectedError(M.notConnected(this.whyNotConnected()));
    const flushed = nc.flush().catch((error: unknown) => {
      throw new NatsNotConnectedError(M.notConnected(describeClientError(error)), { cause: error });
    });
    const late = await withDeadline(flushed, timeoutMs);
    if (late)
      throw new NatsConnectionError(M.flushTimeout(timeoutMs), { code: 'ERR_NATS_FLUSH_TIMEOUT' });
  }

  /** Message and byte counters, summed over the client connections this link has had. */
  stats(): NatsLinkStats {
    const now = this.nc?.stats();
    return {
      inMsgs: this.base.inMsgs + (now?.inMsgs ?? 0),
      outMsgs: this.base.outMsgs + (now?.outMsgs ?? 0),
      inBytes: this.base.inBytes + (now?.inBytes ?? 0),
      outBytes: this.base.outBytes + (now?.outBytes ?? 0),
      reconnects: this.reconnects,
    };
  }

  /**
   * Bytes published but not yet written to the socket (the client's buffer and the socket's);
   * grows while the server reads slower than this node publishes. Read from the client's
   * internals (no public figure): 0 when not found.
   */
  pendingBytes(): number {
    return this.nc === undefined ? 0 : pendingOutboundBytes(this.nc);
  }

  /** Closes the connection (and stops connecting): idempotent, within about a second. */
  close(): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closing = true;
    this.#connected = false;
    clearTimeout(this.staleTimer);
    this.wake?.();
    this.settleFirst(new NatsConnectionError(M.closedWhileOpening(), { code: 'ERR_NATS_CONNECT' }));
    const nc = this.nc;
    this.closePromise = nc === undefined ? Promise.resolve() : this.closeClient(nc);
    return this.closePromise;
  }

  // ---- connecting ----

  private start(): Promise<void> {
    const signal = this.ports.signal;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.firstOutcome === undefined) return;
        this.firstOutcome = undefined;
        const reason = M.connectingReason();
        this.ports.logger.warn(M.notReachableYet(this.servers, this.o.firstConnectWaitMs), {
          event: 'natsNotReachable',
          reason: 'connecting',
        });
        this.report(false, reason);
        resolve();
      }, this.o.firstConnectWaitMs);
      // referenced (bounded, cleared on the first connect): a refused connect fails at once, so
      // while NATS is down nothing else may hold the event loop, and `await cluster.start()`
      // followed by `server.listen()` must not find the process exited in between
      this.firstOutcome = { resolve, reject, timer };
      if (signal?.aborted) return void this.close();
      signal?.addEventListener('abort', () => void this.close(), { once: true });
      this.connectLoop().catch((error: unknown) =>
        this.ports.logger.error(M.loopFailed(toError(error).message), { error }),
      );
    });
  }

  /** Reports connectivity; a status callback that throws is logged, never breaks the link. */
  private report(connected: boolean, reason?: string): void {
    try {
      this.ports.status(connected, reason);
    } catch (error) {
      this.ports.logger.error(M.statusThrew(toError(error).message), { error });
    }
  }

  /** Ends a pending `open`: resolved without `error`, rejected with it. */
  private settleFirst(error?: Error): void {
    const outcome = this.firstOutcome;
    if (outcome === undefined) return;
    this.firstOutcome = undefined;
    clearTimeout(outcome.timer);
    if (error === undefined) outcome.resolve();
    else outcome.reject(error);
  }

  /** Connects (again and again until it works or the link closes), then hands over to the client. */
  private async connectLoop(): Promise<void> {
    const options = buildClientOptions(
      this.o,
      this.ports.name,
      this.authenticator,
      () => this.closing,
    );
    while (!this.closing) {
      let nc: NatsConnection;
      try {
        nc = await this.mod.connect(options);
      } catch (error) {
        if (this.closing) return;
        const fatal =
          fatalFirstConnectError(error, this.o) ?? (await clientCertFault(error, this.o));
        if (this.closing) return;
        if (fatal !== undefined && this.firstOutcome !== undefined) {
          this.ports.logger.error(fatal.message, {
            event: 'natsConnectFailed',
            reason: fatal.code,
          });
          this.settleFirst(fatal);
          void this.close();
          return;
        }
        // after open went on cut off, even a failure retrying cannot fix is retried (the server
        // may be fixed) and logged, as an error, rate-limited
        const reason = describeClientError(error);
        this.log.write(
          'connect',
          fatal?.message ?? M.connectFailing(this.servers, reason, this.o.reconnectTimeWaitMs),
          line =>
            fatal
              ? this.ports.logger.error(line, { event: 'natsConnectFailed', reason: fatal.code })
              : this.ports.logger.warn(line, { event: 'natsConnectFailing', reason }),
        );
        await this.pause(this.o.reconnectTimeWaitMs);
        continue;
      }
      if (this.closing) {
        await this.closeClient(nc);
        return;
      }
      this.adopt(nc);
      const why = await nc.closed();
      if (this.closing) return;
      // the client gave up by itself (it should not, with these options): start over
      this.retire(nc);
      const reason = why instanceof Error ? describeClientError(why) : M.closedReason();
      this.ports.logger.warn(M.clientClosed(reason), {
        event: 'natsClientClosed',
        reason: 'closed',
      });
      this.report(false, reason);
      await this.pause(this.o.reconnectTimeWaitMs);
    }
  }

  /** A connected client: watch its status, subscribe, report. */
  private adopt(nc: NatsConnection): void {
    this.nc = nc;
    this.#connected = true;
    this.log.forget('connect');
    this.subs.attach(nc);
    void this.watch(nc);
    const server = nc.getServer();
    if (this.everConnected)
      this.ports.logger.log(M.reconnected(server), { event: 'natsReconnected' });
    else this.ports.logger.log(M.connected(server), { event: 'natsConnected' });
    this.everConnected = true;
    this.report(true);
    this.settleFirst();
  }

  /** Keeps the counters of a client that is gone. */
  private retire(nc: NatsConnection): void {
    const s = nc.stats();
    this.base = {
      inMsgs: this.base.inMsgs + s.inMsgs,
      outMsgs: this.base.outMsgs + s.outMsgs,
      inBytes: this.base.inBytes + s.inBytes,
      outBytes: this.base.outBytes + s.outBytes,
    };
    if (this.nc === nc) this.nc = undefined;
    this.#connected = false;
    if (this.nc === undefined) this.subs.detach();
  }

  private async watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (this.closing || this.nc !== nc) return;
        try {
          this.onStatus(status);
        } catch (error) {
          this.ports.logger.error(M.loopFailed(toError(error).message), { error });
        }
      }
    } catch (error) {
      this.ports.logger.warn(M.serverError(describeClientError(error)));
    }
  }

  private onStatus(status: Status): void {
    const logger = this.ports.logger;
    switch (status.type) {
      case 'disconnect':
        clearTimeout(this.staleTimer);
        this.#connected = false;
        logger.warn(M.disconnected(status.server), {
          event: 'natsDisconnected',
          reason: 'disconnect',
        });
        this.report(false, `disconnected from ${status.server}`);
        return;
      case 'staleConnection':
        this.#connected = false;
        logger.warn(M.stale(), { event: 'natsDisconnected', reason: 'stale' });
        this.report(false, M.staleReason());
        this.forceDisconnectSoon();
        return;
      case 'reconnect':
        this.#connected = true;
        this.reconnects++;
        this.log.forget('auth');
        logger.log(M.reconnected(status.server), { event: 'natsReconnected' });
        this.report(true);
        return;
      case 'error': {
        const reason = describeClientError(status.error);
        if (isAuthError(status.error)) {
          this.#connected = false;
          this.log.write('auth', M.authFailing(this.servers, reason), line =>
            logger.error(line, { event: 'natsAuthFailing', reason: 'auth' }),
          );
          this.report(false, M.authReason());
        } else {
          this.log.write(`error:${reason}`, M.serverError(reason), line =>
            logger.warn(line, { event: 'natsError' }),
          );
        }
        return;
      }
      case 'ldm':
        logger.warn(M.lameDuck(status.server), { event: 'natsLameDuck' });
        return;
      default:
        return;
    }
  }

  /**
   * After a stale connection the client closes its socket only once its backlog is written, which
   * a silent server never allows: unless the disconnect follows within a moment, the socket is
   * destroyed (see {@link destroyClientSocket}).
   */
  private forceDisconnectSoon(): void {
    const nc = this.nc;
    clearTimeout(this.staleTimer);
    if (nc === undefined) return;
    this.staleTimer = setTimeout(() => {
      if (this.nc === nc && !this.closing) destroyClientSocket(nc);
    }, STALE_GRACE_MS);
    this.staleTimer.unref();
  }

  private whyNotConnected(): string {
    if (this.closing) return M.closedReason();
    return this.everConnected ? 'reconnecting' : M.connectingReason();
  }

  /**
   * Waits `ms` (plus up to 10 % jitter), or less when the link closes. The timer is referenced:
   * between connect attempts no socket is open, and a link that has not been closed must keep the
   * process alive while it retries (as a connected client's socket does).
   */
  private pause(ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(done, ms + Math.floor(Math.random() * ms * 0.1));
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Closes a client within the close deadline (the client may still be tearing down after it). */
  private async closeClient(nc: NatsConnection): Promise<void> {
    await withDeadline(
      nc.close().catch(() => undefined),
      NATS_CONNECTION_DEFAULTS.closeTimeoutMs - 50,
    );
    this.retire(nc);
  }
}
