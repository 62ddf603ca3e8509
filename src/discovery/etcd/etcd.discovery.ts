import { randomBytes } from 'node:crypto';
import {
  type ClusterLogger,
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  type Peer,
  RateLimitedLog,
  toError,
  toPeer,
} from '../../core/index.js';
import { EtcdApi } from './etcd-api.js';
import { EtcdClient } from './etcd-client.js';
import { EtcdRequestError } from './etcd.errors.js';
import { EtcdMessages as M } from './etcd.messages.js';
import {
  ETCD_DISCOVERY_DEFAULTS,
  type EtcdDiscoveryOptions,
  type EtcdSecrets,
  type ResolvedEtcdDiscoveryOptions,
  resolveEtcdDiscoveryOptions,
} from './etcd-options.js';
import { LeaseKeeper } from './lease-keeper.js';
import { PrefixWatcher } from './prefix-watcher.js';

/** The value this node puts under its key. */
interface Registration {
  readonly node: string;
  readonly port?: number;
  readonly incarnation: string;
}

/** The internals of the construction under way ({@link EtcdDiscovery.withInternals}). */
let injected: EtcdDiscoveryInternals | undefined;

/** Keys whose bad value was logged, remembered at most. */
const MAX_LOGGED_KEYS = 256;

/**
 * What {@link createEtcdDiscovery} (etcd-lazy.ts) and the specs hand the constructor besides the
 * options: the options already resolved (so the secret files are not read a second time), and an
 * {@link EtcdApi} to use instead of one over a new client.
 * @internal
 */
export interface EtcdDiscoveryInternals {
  readonly resolved?: {
    readonly settings: ResolvedEtcdDiscoveryOptions;
    readonly secrets: EtcdSecrets;
  };
  readonly api?: EtcdApi;
}

/**
 * Peers from etcd, through its HTTP/JSON v3 gateway: each node puts `<prefix>/<namespace>/<node>`
 * (value `{"node","port","incarnation"}`) under a lease it keeps alive (every TTL/3), ranges the
 * prefix and watches it from the range's revision + 1, and asks the cluster for a refresh when the
 * peers change.
 *
 * - `init` registers, then starts the range-and-watch; it waits for the first registration attempt
 *   at most one `requestTimeoutMs`, and when etcd is unreachable or slow at start the failure is
 *   reported and retried in the background: the node still starts.
 * - A failed registration is logged as a warning and reported (`discoveryError`, source
 *   `etcd lease`) at the 1st, 2nd, 4th, 8th... failure in a row.
 * - `peers()` answers the watched copy while the watch is open and the lease is kept; otherwise it
 *   ranges the prefix, and when that fails it throws a `DiscoveryError`, so the cluster keeps its
 *   last good peers (nobody is disconnected while etcd is away).
 * - A lost lease (etcd away longer than the TTL) is granted again and the key put again at once;
 *   a deleted own key is put again.
 * - `close()` ends the watch and revokes the lease (waiting at most about 1 s), so the others see
 *   this node leave at once; a node that dies leaves when its lease expires.
 */
export class EtcdDiscovery implements DiscoveryStrategy {
  readonly name = 'etcd';
  /** The options in force, defaults filled in (no secret). */
  readonly settings: ResolvedEtcdDiscoveryOptions;
  /** This start's incarnation (random 64-bit, decimal), in the registered value. */
  readonly incarnation: string;

  private readonly api: EtcdApi;
  /** `<prefix>/<namespace>/`: every peer's key starts with it. */
  private readonly keyPrefix: string;
  private readonly badValues = new RateLimitedLog(60_000, MAX_LOGGED_KEYS);
  private self: string | undefined;
  private logger: ClusterLogger | undefined;
  private context: DiscoveryContext | undefined;
  private keeper: LeaseKeeper | undefined;
  private watcher: PrefixWatcher | undefined;
  private watchedKey: string | undefined;
  private closed = false;

  /**
   * Checks the options and reads the password and TLS files.
   * @throws InvalidConfigError naming the option, the value and the accepted forms.
   */
  constructor(options: EtcdDiscoveryOptions | Omit<EtcdDiscoveryOptions, 'strategy'>) {
    // the public constructor never names EtcdDiscoveryInternals: the published declarations strip it
    const internals = injected ?? {};
    injected = undefined;
    const { settings, secrets } = internals.resolved ?? resolveEtcdDiscoveryOptions(options);
    this.settings = settings;
    this.api = internals.api ?? EtcdDiscovery.connect(settings, secrets);
    this.keyPrefix = `${settings.prefix}/${settings.namespace}/`;
    this.incarnation = BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
  }

  /**
   * A discovery built with {@link EtcdDiscoveryInternals} (etcd-lazy.ts and the specs).
   * @internal
   */
  static withInternals(
    options: EtcdDiscoveryOptions | Omit<EtcdDiscoveryOptions, 'strategy'>,
    internals: EtcdDiscoveryInternals,
  ): EtcdDiscovery {
    injected = internals;
    try {
      return new EtcdDiscovery(options);
    } finally {
      injected = undefined;
    }
  }

  private static connect(settings: ResolvedEtcdDiscoveryOptions, secrets: EtcdSecrets): EtcdApi {
    const client = new EtcdClient({
      endpoints: settings.endpoints,
      requestTimeoutMs: settings.requestTimeoutMs,
      username: settings.username,
      password: secrets.password,
      ca: secrets.ca,
      cert: secrets.cert,
      key: secrets.key,
      maxBodyBytes: ETCD_DISCOVERY_DEFAULTS.maxBodyBytes,
    });
    return new EtcdApi(client);
  }

  /** This node's key, once started. */
  get key(): string | undefined {
    return this.self === undefined ? undefined : `${this.keyPrefix}${this.self}`;
  }

  /** Whether `peers()` answers from the watch now (watch open, lease kept). */
  get watching(): boolean {
    return (this.watcher?.healthy ?? false) && (this.keeper?.healthy ?? false);
  }

  /** The lease this node's key is attached to, once granted. */
  get leaseId(): string | undefined {
    return this.keeper?.leaseId;
  }

  /**
   * Registers this node (waiting for the first attempt at most one `requestTimeoutMs`; the keeper
   * carries on in the background) and starts the watch.
   */
  async init(context: DiscoveryContext): Promise<void> {
    if (this.closed || this.keeper !== undefined) return;
    this.context = context;
    this.self = context.self;
    this.logger = context.logger;
    const plain = this.settings.endpoints.filter(e => e.startsWith('http:'));
    if (this.settings.username !== undefined && plain.length > 0)
      this.logger?.warn(M.credentialsInClear(plain.join(', ')));
    const registration: Registration = {
      node: context.self,
      ...(context.port !== undefined ? { port: context.port } : {}),
      incarnation: this.incarnation,
    };
    const d = ETCD_DISCOVERY_DEFAULTS;
    this.keeper = new LeaseKeeper({
      api: this.api,
      key: this.key!,
      value: JSON.stringify(registration),
      ttlSeconds: this.settings.leaseTtlSeconds,
      logger: this.logger,
      onFailure: (error, consecutive) => this.registrationFailed(error, consecutive),
      // the stream may sit on a member that was cut off meanwhile (no RST, no line): reopen it
      onRecovered: () => this.watcher?.reopen(),
    });
    this.watcher = new PrefixWatcher({
      api: this.api,
      prefix: this.keyPrefix,
      backoff: d.watchBackoff,
      failuresBeforeWarning: d.watchFailuresBeforeWarning,
      maxStreamMs: d.maxStreamMs,
      logger: this.logger,
      onChange: deleted => this.watchedChanged(deleted),
      describe: error => describe(error, this.keyPrefix),
    });
    await this.firstAttempt(this.keeper.start());
    if (!this.closed) this.watcher.start();
  }

  async peers(signal?: AbortSignal): Promise<Peer[]> {
    if (this.closed) throw new DiscoveryError(M.closed());
    if (this.watcher === undefined) throw new DiscoveryError(M.notStarted());
    if (this.watching) return this.answer(this.watcher.snapshot(), 'watch');
    if (signal?.aborted) throw toError(signal.reason);
    try {
      const { kvs } = await this.api.range(this.keyPrefix, signal);
      return this.answer(new Map(kvs.map(kv => [kv.key, kv.value])), 'range');
    } catch (error) {
      if (signal?.aborted) throw toError(signal.reason);
      const timeout = error instanceof EtcdRequestError && error.failure.kind === 'timeout';
      throw new DiscoveryError(
        M.unreachable(this.settings.endpoints.join(', '), describe(error, this.keyPrefix)),
        { code: timeout ? 'ERR_DISCOVERY_TIMEOUT' : 'ERR_DISCOVERY_FAILED', cause: error },
      );
    }
  }

  /** Ends the watch, revokes the lease (at most about 1 s) and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watcher?.stop();
    const leaseId = this.keeper?.leaseId;
    const failed = await this.keeper?.stop(ETCD_DISCOVERY_DEFAULTS.closeTimeoutMs);
    if (failed !== undefined && leaseId !== undefined)
      this.logger?.warn(M.revokeFailed(leaseId, describe(failed, this.keyPrefix)));
    this.api.client.close();
  }

  // --- internals -------------------------------------------------------------------------------

  /** Waits for the keeper's first attempt, at most one `requestTimeoutMs`. */
  private async firstAttempt(attempt: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>(resolve => {
      timer = setTimeout(resolve, this.settings.requestTimeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([attempt, bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The peers of a key -> value table; bad entries are skipped (logged once per key a minute). */
  private answer(table: ReadonlyMap<string, string>, source: 'watch' | 'range'): Peer[] {
    const peers: Peer[] = [];
    for (const [key, value] of table) {
      const peer = this.toPeer(key, value);
      if (peer !== undefined && peer.node !== this.self) peers.push(peer);
    }
    this.logger?.debug?.(M.answered(peers.length, source));
    return peers;
  }

  private toPeer(key: string, value: string): Peer | undefined {
    const bad = (why: string) => {
      this.badValues.write(key, M.badValue(key, why), line => this.logger?.warn(line));
      return undefined;
    };
    const suffix = key.slice(this.keyPrefix.length);
    let node: string;
    try {
      node = toPeer(suffix).node;
    } catch {
      return bad(M.badNode());
    }
    let parsed: Partial<Registration>;
    try {
      parsed = JSON.parse(value) as Partial<Registration>;
    } catch {
      return bad(M.notJsonValue());
    }
    if (typeof parsed !== 'object' || parsed === null) return bad(M.notJsonValue());
    if (parsed.node !== node && parsed.node !== suffix)
      return bad(M.nodeMismatch(String(parsed.node)));
    const port = parsed.port;
    if (port === undefined) return { node };
    if (!Number.isInteger(port) || port < 1 || port > 65_535) return bad(M.badPort());
    return { node, port };
  }

  /** Asks the cluster for a refresh when the watched peers changed; puts a deleted own key back. */
  private watchedChanged(deleted: readonly string[]): void {
    if (this.closed || !this.watcher) return;
    if (this.key !== undefined && deleted.includes(this.key) && this.keeper?.healthy) {
      this.logger?.log(M.keyDeleted(this.key));
      this.keeper.reput();
    }
    const peers = this.answer(this.watcher.snapshot(), 'watch');
    const key = JSON.stringify(peers.map(p => `${p.node}:${p.port ?? ''}`).sort());
    if (key === this.watchedKey) return;
    this.watchedKey = key;
    this.context?.requestRefresh();
  }

  /**
   * Registration failed: a warning and a `discoveryError` (source `etcd lease`) at the 1st, 2nd,
   * 4th, 8th... failure in a row, so an outage does not flood the log; the keeper retries on its
   * own. Both, because the engine only emits the event: the log is where an operator looks for
   * "this node is not registered" (a refused permission says there which grant is missing).
   */
  private registrationFailed(error: Error, consecutive: number): void {
    if ((consecutive & (consecutive - 1)) !== 0) return;
    const failure = new DiscoveryError(
      M.registerFailed(this.key ?? '', describe(error, this.keyPrefix), consecutive),
      { cause: error },
    );
    this.logger?.warn(failure.message);
    this.context?.reportError?.(failure, 'etcd lease', consecutive);
  }
}

/** Words for an error, with the fix where there is one (a grant to make, a CA to check). */
function describe(error: unknown, prefix: string): string {
  if (!(error instanceof EtcdRequestError)) return toError(error).message;
  const f = error.failure;
  const denied =
    (f.kind === 'status' && (f.status === 403 || f.grpcCode === 7)) ||
    (f.kind === 'canceled' && /permission denied/i.test(f.message));
  if (denied) return `${error.message}; ${M.permissionDenied(prefix)}`;
  return error.message;
}
