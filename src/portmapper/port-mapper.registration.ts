import {
  type ClusterLogger,
  checkMilliseconds,
  checkNamespace,
  checkPort,
  invalidOption,
  toError,
} from '../core/index.js';
import { checkNodeName } from './epmd-protocol.js';
import { mapperAddress } from './mapper-request.js';
import { PortMapperError } from './port-mapper.errors.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';
import { type RegisteredNode, PortMapperClient } from './port-mapper.client.js';
import { PortMapperServer } from './port-mapper.server.js';
import { type PortMapperServerOptions, checkListenAddress } from './server-options.js';
import {
  DEFAULT_PORT_MAPPER_HOST,
  DEFAULT_PORT_MAPPER_PORT,
  PORT_MAPPER_DEFAULTS,
} from './port-mapper.defaults.js';

/** Options of a {@link PortMapperRegistration}. */
export interface PortMapperRegistrationOptions {
  /**
   * The node's name. A full node name (`name@host`) is accepted; only the part before `@` is
   * registered, as with EPMD.
   */
  readonly name: string;
  /** The node's dist port (the port its dist listener is bound to). */
  readonly port: number;
  /** The port mapper's port; {@link DEFAULT_PORT_MAPPER_PORT} (14369) by default. */
  readonly portMapperPort?: number;
  /**
   * The node's cluster namespace, registered in the `Extra` field so that `local` discovery of
   * other namespaces does not list the node; unset: an empty `Extra` (which readers take as
   * `default`).
   */
  readonly namespace?: string;
  /**
   * The loopback address where the mapper is looked for and, when none answers, served;
   * `127.0.0.1` by default.
   */
  readonly host?: string;
  /**
   * The address the embedded mapper listens on, when this process serves it: an IP address,
   * `host` (loopback only) by default.
   *
   * Opt-in for `local` discovery across hosts (`hosts: ['10.0.0.5', '10.0.0.6']`): `0.0.0.0` or
   * `::` (every interface), or one interface's address such as `10.0.0.5` (the mapper then listens
   * on `127.0.0.1` too). Other hosts can then ask it for the names and ports of this host's nodes
   * (PORT_PLEASE2, NAMES), which they learn; registrations and KILL are still taken from loopback
   * clients only. Every node of the host that may serve the mapper should be given the same
   * address, as any of them may take it over.
   */
  readonly bind?: string;
  /**
   * Whether this process may become the mapper when none answers (default `true`). Set `false`
   * when a separately run mapper (Erlang's `epmd` on 4369) must be used.
   */
  readonly serve?: boolean;
  /** Where to report failover and failures. */
  readonly logger?: ClusterLogger;
  /** How long `start()` keeps trying before it fails (5 s by default). */
  readonly startTimeoutMs?: number;
  /** Connect timeout of each attempt (1 s by default). */
  readonly connectTimeoutMs?: number;
  /** Longest wait between two attempts after the mapper is lost (1 s by default, with jitter). */
  readonly retryMaxDelayMs?: number;
  /** Options of the embedded mapper, when this process serves it. */
  readonly server?: Omit<PortMapperServerOptions, 'host' | 'port' | 'logger' | 'unref'>;
}

/** What a {@link PortMapperRegistration} reports to {@link PortMapperRegistration.onChange}. */
export type PortMapperRegistrationEvent =
  /** Registered (again); `serving` tells whether this process holds the mapper. */
  | { readonly type: 'registered'; readonly creation: number; readonly serving: boolean }
  /** The registration was lost (the mapper's process died); a new attempt follows shortly. */
  | { readonly type: 'dropped'; readonly error: Error | undefined }
  /** This process started serving the mapper. */
  | { readonly type: 'serving'; readonly address: string };

/**
 * Keeps one node registered with the host-local port mapper, so nobody has to start a daemon by
 * hand:
 *
 * 1. `start()` registers `name` -> `port` with the mapper on `host:portMapperPort`.
 * 2. When nothing answers there (`ECONNREFUSED`), this process becomes the mapper: it starts an
 *    embedded {@link PortMapperServer} on that port and registers with it. When the bind fails with
 *    `EADDRINUSE`, another node just won that race, and this one registers with the winner.
 * 3. A registration lives as long as its connection. When it drops (the process holding the mapper
 *    died), a new attempt runs after a random 0-250 ms, then with capped exponential backoff
 *    (1 s by default): the first survivor to try finds no mapper and becomes it, the others
 *    register with it. The registry is whole again within about a second.
 *
 * `close()` unregisters and stops everything it started (the embedded mapper, sockets, timers);
 * nothing it holds keeps the process alive.
 *
 * @example In a dist, once its listener is bound:
 * const mapper = new PortMapperRegistration({ name: 'app@my-host', port: 40123, logger });
 * await mapper.start();
 * // ...
 * await mapper.close();
 */
export class PortMapperRegistration {
  /** The registered name (the part of the node name before `@`). */
  readonly name: string;
  /** The registered dist port. */
  readonly port: number;
  /** The mapper's port. */
  readonly portMapperPort: number;
  /** The mapper's address. */
  readonly host: string;
  /** The registered namespace, when one is. */
  readonly namespace: string | undefined;

  private readonly client: PortMapperClient;
  private readonly serve: boolean;
  private readonly bind: string;
  private readonly logger: ClusterLogger | undefined;
  private readonly startTimeoutMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly serverOptions: PortMapperRegistrationOptions['server'];
  private readonly listeners = new Set<(event: PortMapperRegistrationEvent) => void>();
  private readonly abort = new AbortController();
  private handle: RegisteredNode | undefined;
  private embedded: PortMapperServer | undefined;
  private starting: Promise<void> | undefined;
  private retrying = false;
  private closing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  private duplicateLogged = false;

  /** @throws InvalidConfigError naming the option, the value and the accepted forms. */
  constructor(options: PortMapperRegistrationOptions) {
    const option = (key: keyof PortMapperRegistrationOptions | '(options)') =>
      M.optionName('registration', key);
    if (typeof options !== 'object' || options === null)
      throw invalidOption(option('(options)'), options, M.acceptedOptions());
    const rawName = typeof options.name === 'string' ? options.name.split('@')[0]! : options.name;
    try {
      this.name = checkNodeName(rawName as string);
    } catch (error) {
      throw invalidOption(option('name'), options.name, M.acceptedName(toError(error).message));
    }
    checkPort(option('port'), options.port);
    this.port = options.port;
    this.portMapperPort = options.portMapperPort ?? DEFAULT_PORT_MAPPER_PORT;
    checkPort(option('portMapperPort'), this.portMapperPort);
    this.host = options.host ?? DEFAULT_PORT_MAPPER_HOST;
    if (typeof this.host !== 'string' || this.host === '')
      throw invalidOption(option('host'), options.host, M.acceptedHost());
    this.bind = options.bind ?? this.host;
    if (options.bind !== undefined) checkListenAddress(option('bind'), options.bind);
    this.serve = options.serve ?? true;
    this.logger = options.logger;
    this.startTimeoutMs = options.startTimeoutMs ?? PORT_MAPPER_DEFAULTS.startTimeoutMs;
    checkMilliseconds(option('startTimeoutMs'), this.startTimeoutMs);
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? PORT_MAPPER_DEFAULTS.retryMaxDelayMs;
    checkMilliseconds(option('retryMaxDelayMs'), this.retryMaxDelayMs);
    this.serverOptions = options.server;
    if (options.namespace !== undefined) checkNamespace(option('namespace'), options.namespace);
    this.namespace = options.namespace;
    this.client = new PortMapperClient({
      port: this.portMapperPort,
      connectTimeoutMs: options.connectTimeoutMs ?? PORT_MAPPER_DEFAULTS.connectTimeoutMs,
    });
  }

  /** Whether the name is registered right now. */
  get registered(): boolean {
    return this.handle?.active ?? false;
  }

  /** The creation number of the current registration. */
  get creation(): number | undefined {
    return this.handle?.active ? this.handle.creation : undefined;
  }

  /** Whether this process serves the port mapper. */
  get serving(): boolean {
    return this.embedded !== undefined && !this.embedded.closed;
  }

  /** The embedded port mapper, while this process serves it. */
  get server(): PortMapperServer | undefined {
    return this.serving ? this.embedded : undefined;
  }

  /** Calls `listener` on every registration, loss and takeover; returns a function that stops it. */
  onChange(listener: (event: PortMapperRegistrationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Registers the node, becoming the mapper when none answers. Resolves once registered; later
   * losses are repaired in the background.
   * @throws PortMapperError `ERR_DUPLICATE_NODE_NAME` when a live node on this host holds the name,
   * `ERR_PORT_MAPPER_UNAVAILABLE` when no mapper could be reached or started within
   * `startTimeoutMs`, `ERR_PORT_MAPPER_ABORTED` when closed meanwhile. On failure, everything
   * started is stopped.
   */
  start(): Promise<void> {
    this.starting ??= this.firstRegistration().catch(async error => {
      await this.close();
      throw error;
    });
    return this.starting;
  }

  /**
   * Like {@link PortMapperRegistration.start}, for a node that can run without being registered
   * (only `local` discovery needs the registration): a mapper that cannot be reached or started
   * within `startTimeoutMs`, or that accepts connections but does not answer (its process is
   * stopped), is not fatal. Resolves `true` once registered, or `false` after a warning, without
   * waiting further once a mapper timed out; it then keeps trying in the background (as after a
   * loss) until registered or closed.
   * @throws PortMapperError `ERR_DUPLICATE_NODE_NAME` when a live node on this host holds the name,
   * `ERR_PORT_MAPPER_ABORTED` when closed meanwhile; everything started is stopped then.
   */
  startOrRetry(): Promise<boolean> {
    if (this.starting) return this.starting.then(() => true);
    const result = this.firstRegistration(true).then(
      () => true,
      async (error: unknown) => {
        if (isDuplicate(error) || this.closing || this.abort.signal.aborted) {
          await this.close();
          throw error;
        }
        this.logger?.warn(M.startingUnregistered(toError(error).message));
        void this.reRegister(false);
        return false;
      },
    );
    this.starting = result.then(() => undefined);
    this.starting.catch(() => undefined);
    return result;
  }

  /** Unregisters and stops what it started: the embedded mapper, sockets, timers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort(closedError());
      clearTimeout(this.retryTimer);
      this.wakeRetry?.();
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close();
      const server = this.embedded;
      this.embedded = undefined;
      await server?.close();
      this.listeners.clear();
    })();
    return this.closing;
  }

  // --- attempts ----------------------------------------------------------------------------------

  /**
   * Registers within `startTimeoutMs`; with `stopOnTimeout`, a mapper that accepted the connection
   * but did not answer ends the wait at once (a stopped mapper would not answer later either).
   */
  private async firstRegistration(stopOnTimeout = false): Promise<void> {
    const deadline = performance.now() + this.startTimeoutMs;
    for (let failures = 0; ; failures++) {
      this.throwIfClosed();
      try {
        await this.attempt();
        return;
      } catch (error) {
        this.throwIfClosed();
        if (isDuplicate(error)) throw error;
        const wait = this.retryDelay(failures);
        if (stopOnTimeout && isTimeout(error)) throw error;
        if (performance.now() + wait > deadline) {
          throw new PortMapperError(
            M.unavailable(this.name, this.address(), this.startTimeoutMs, toError(error).message),
            { code: 'ERR_PORT_MAPPER_UNAVAILABLE', cause: error },
          );
        }
        this.logger?.debug?.(M.retryFailed(this.name, toError(error)));
        await this.sleep(wait);
      }
    }
  }

  /** After a loss: tries again until registered or closed, never giving up. */
  private async reRegister(afterLoss = true): Promise<void> {
    if (this.retrying || this.closing) return;
    this.retrying = true;
    try {
      // The first try is spread over 0-250 ms, so the survivors do not all race at once (after a
      // failed start, the start's own backoff applies instead).
      const first = afterLoss
        ? Math.floor(Math.random() * Math.min(250, this.retryMaxDelayMs))
        : this.retryDelay(10);
      this.logger?.debug?.(M.reRegistering(this.name, first));
      await this.sleep(first);
      for (let failures = 0; !this.closing; failures++) {
        try {
          await this.attempt();
          this.duplicateLogged = false;
          this.logger?.log(M.reRegistered(this.name, this.address()));
          return;
        } catch (error) {
          if (this.closing) return;
          if (isDuplicate(error)) {
            if (!this.duplicateLogged) this.logger?.error(toError(error).message);
            this.duplicateLogged = true;
          } else if (failures === 2) {
            this.logger?.warn(M.retryFailed(this.name, toError(error)));
          } else {
            this.logger?.debug?.(M.retryFailed(this.name, toError(error)));
          }
          await this.sleep(this.retryDelay(failures));
        }
      }
    } finally {
      this.retrying = false;
    }
  }

  /**
   * One attempt: register; if nobody answers, serve the mapper (or find that another process just
   * did) and register with it.
   */
  private async attempt(): Promise<void> {
    const signal = this.abort.signal;
    try {
      return this.adopt(await this.client.register(this.name, this.port, this.registerOptions()));
    } catch (error) {
      if (!this.serve || !(error instanceof PortMapperError) || error.errno !== 'ECONNREFUSED')
        throw error;
    }
    this.throwIfClosed();
    try {
      const server = await PortMapperServer.start({
        ...this.serverOptions,
        host: this.bind,
        port: this.portMapperPort,
        logger: this.logger,
        unref: true,
      });
      if (signal.aborted) {
        await server.close();
        this.throwIfClosed();
      }
      const previous = this.embedded;
      this.embedded = server;
      await previous?.close();
      this.logger?.log(M.becameMapper(server.address));
      this.emit({ type: 'serving', address: server.address });
    } catch (error) {
      if (!(error instanceof PortMapperError) || error.errno !== 'EADDRINUSE') throw error;
      this.logger?.debug?.(M.lostRace(this.address()));
    }
    this.adopt(await this.client.register(this.name, this.port, this.registerOptions()));
  }

  private registerOptions() {
    const namespace = this.namespace === undefined ? {} : { namespace: this.namespace };
    return { host: this.host, signal: this.abort.signal, unref: true, ...namespace } as const;
  }

  /** Takes a fresh registration and watches it. */
  private adopt(handle: RegisteredNode): void {
    if (this.closing) {
      void handle.close();
      this.throwIfClosed();
    }
    this.handle = handle;
    this.emit({ type: 'registered', creation: handle.creation, serving: this.serving });
    void handle.ended.then(end => {
      if (this.handle !== handle || this.closing || end.reason === 'closed') return;
      this.handle = undefined;
      this.logger?.warn(
        M.registrationDropped(
          this.name,
          handle.address,
          end.error?.message ?? M.connectionClosed(),
        ),
      );
      this.emit({ type: 'dropped', error: end.error });
      void this.reRegister();
    });
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** Capped exponential backoff with jitter: ~50, 100, 200, 400 ms ... up to `retryMaxDelayMs`. */
  private retryDelay(failures: number): number {
    const cap = Math.min(this.retryMaxDelayMs, 50 * 2 ** Math.min(failures, 10));
    return Math.floor(cap / 2 + Math.random() * (cap / 2));
  }

  /** Waits `ms`, or less when closed; the timer never keeps the process alive. */
  private sleep(ms: number): Promise<void> {
    if (this.closing || ms <= 0) return Promise.resolve();
    return new Promise(resolve => {
      this.wakeRetry = resolve;
      this.retryTimer = setTimeout(() => {
        this.wakeRetry = undefined;
        resolve();
      }, ms);
      this.retryTimer.unref();
    });
  }

  private throwIfClosed(): void {
    if (this.closing || this.abort.signal.aborted) throw closedError();
  }

  private address(): string {
    return mapperAddress(this.host, this.portMapperPort);
  }

  private emit(event: PortMapperRegistrationEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger?.warn(toError(error).message);
      }
    }
  }
}

function closedError(): PortMapperError {
  return new PortMapperError(M.registrationClosed(), { code: 'ERR_PORT_MAPPER_ABORTED' });
}

function isTimeout(error: unknown): boolean {
  return error instanceof PortMapperError && error.code === 'ERR_PORT_MAPPER_TIMEOUT';
}

function isDuplicate(error: unknown): boolean {
  return error instanceof PortMapperError && error.code === 'ERR_DUPLICATE_NODE_NAME';
}
