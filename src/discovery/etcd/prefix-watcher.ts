import {
  type BackoffOptions,
  type ClusterLogger,
  DiscoveryError,
  RateLimitedLog,
  backoffDelay,
} from '../../core/index.js';
import { EtcdApi } from './etcd-api.js';
import { GatewayShapeError, decodeWatchMessage } from './etcd-gateway.js';
import { etcdRequestError, isInvalidToken } from './etcd.errors.js';
import { EtcdMessages as M } from './etcd.messages.js';

/** Settings of a {@link PrefixWatcher}. */
export interface PrefixWatcherOptions {
  readonly api: EtcdApi;
  /** Every key starting with this is watched (ends with `/`). */
  readonly prefix: string;
  /** Delay between failed attempts. */
  readonly backoff: BackoffOptions;
  /** Failed attempts in a row after which a warning says so (once, until it works again). */
  readonly failuresBeforeWarning: number;
  /** A stream is cut (and resumed at once) after this long, in case its connection died silently. */
  readonly maxStreamMs: number;
  /**
   * Most keys the copy holds (default {@link DEFAULT_MAX_KEYS}). Above it the copy is dropped:
   * lookups range the prefix (and fail on the answer's size cap), and a warning says so.
   */
  readonly maxKeys?: number;
  readonly logger: ClusterLogger | undefined;
  /** The watched keys changed; `deleted` lists the keys deleted by this change. */
  readonly onChange: (deleted: readonly string[]) => void;
  /** Words for an error, for logs. */
  readonly describe: (error: unknown) => string;
}

/** Default of {@link PrefixWatcherOptions.maxKeys}. */
export const DEFAULT_MAX_KEYS = 10_000;

/** A stream that lived less than this is followed by at least the backoff's first delay. */
const SHORT_STREAM_MS = 1_000;

/** Thrown inside the stream handler when etcd compacted the revision the watch starts from. */
class Compacted extends DiscoveryError {}

/** Thrown inside the stream handler when the copy outgrew `maxKeys`. */
class Overflow extends DiscoveryError {}

/** The reason a stream is ended from here to be reopened at once (requests moved endpoint). */
class Reopen extends DiscoveryError {}

/**
 * Keeps a copy of the keys under a prefix: range once, then watch from the range's revision + 1.
 *
 * - each batch of events moves the revision to its last event's `mod_revision` (a progress
 *   message, to its header's); a stream that ends or breaks is resumed from there + 1 without a
 *   new range, after a backoff with jitter when it failed, and after at least the backoff's first
 *   delay when it lived less than a second (a proxy closing streams at once must not spin us);
 *   the planned cut after `maxStreamMs` is resumed at once and is no failure;
 * - the stream stays on the endpoint it opened on; when the client's requests have moved to
 *   another endpoint (a failover), the copy is not trusted and the stream is reopened there;
 * - above `maxKeys` keys the copy is dropped, and ranged again after a backoff;
 * - a watch canceled with a `compact_revision` (the revision is compacted away) ranges again,
 *   replacing the copy, and watches from there;
 * - a watch canceled for an invalid token drops the token and retries at once (once in a row);
 * - the copy is usable ({@link healthy}) while a stream is open (etcd said `created`) after a range.
 */
export class PrefixWatcher {
  private readonly table = new Map<string, string>();
  private revision: bigint | undefined;
  private synced = false;
  private streaming = false;
  private failures = 0;
  private warned = false;
  private readonly stopping = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** The endpoint of the open stream, and the way to end it from here. */
  private streamEndpoint: string | undefined;
  private current: AbortController | undefined;
  private readonly warnings = new RateLimitedLog(60_000, 4);

  constructor(private readonly options: PrefixWatcherOptions) {}

  /**
   * Whether the copy is current: ranged, and a watch stream is open on the endpoint requests go
   * to. When requests moved elsewhere (the stream's member may be cut off and silent), the stream
   * is reopened and the copy is not current until it is.
   */
  get healthy(): boolean {
    if (!this.synced || !this.streaming || this.stopping.signal.aborted) return false;
    const now = this.options.api.client.endpoint;
    if (this.streamEndpoint === undefined || this.streamEndpoint === now) return true;
    this.options.logger?.debug?.(M.watchMoved(this.streamEndpoint, now));
    this.reopen();
    return false;
  }

  /**
   * Ends the open stream and opens a new one at once, from the same revision (for example after
   * the lease keeper recovered from a failure: the stream may be on a member that went silent).
   */
  reopen(): void {
    this.streaming = false;
    const reason = M.watchMoved(this.streamEndpoint ?? '?', this.options.api.client.endpoint);
    this.current?.abort(new Reopen(reason));
  }

  /** The revision the copy is at. */
  get version(): bigint | undefined {
    return this.revision;
  }

  /** Key -> value, as watched now. */
  snapshot(): ReadonlyMap<string, string> {
    return this.table;
  }

  /** Starts the range-and-watch loop. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Ends the stream and the timers, and waits for the loop to finish. */
  async stop(): Promise<void> {
    this.stopping.abort(new DiscoveryError(M.closed()));
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { signal } = this.stopping;
    const { api, prefix } = this.options;
    let tokenRetried = false;
    while (!signal.aborted) {
      let delay = 0;
      let started: number | undefined;
      const current = new AbortController();
      this.current = current;
      try {
        if (!this.synced) await this.range();
        started = performance.now();
        const end = await api.client.stream(
          '/v3/watch',
          EtcdApi.watchRequest(prefix, this.revision! + 1n),
          {
            signal: AbortSignal.any([signal, current.signal]),
            maxDurationMs: this.options.maxStreamMs,
            onValue: value => this.apply(value),
            onOpen: endpoint => (this.streamEndpoint = endpoint),
          },
        );
        // The server ended the stream, or the planned cut: resume from the last revision (after a
        // backoff when it ended before etcd said the watch was created).
        const opened = this.streaming;
        this.streaming = false;
        if (end === 'cut') started = undefined;
        else if (!opened) {
          const failure = {
            kind: 'network' as const,
            code: 'ERROR',
            message: M.streamBrokeOff(),
            tls: false,
          };
          delay = this.failed(etcdRequestError(failure, '/v3/watch', api.client.endpoint));
        }
      } catch (error) {
        this.streaming = false;
        if (signal.aborted) break;
        if (current.signal.aborted && current.signal.reason instanceof Reopen) {
          started = undefined;
        } else if (error instanceof Compacted) {
          this.synced = false;
        } else if (error instanceof Overflow) {
          delay = this.failed(error);
        } else if (isInvalidToken(error) && !tokenRetried) {
          tokenRetried = true;
          api.client.invalidateToken();
          continue;
        } else {
          delay = this.failed(error);
        }
      }
      tokenRetried = false;
      this.streamEndpoint = undefined;
      if (started !== undefined && performance.now() - started < SHORT_STREAM_MS)
        delay = Math.max(delay, this.options.backoff.initialMs);
      if (delay > 0 && !signal.aborted) await this.sleep(delay);
    }
    this.current = undefined;
  }

  private get maxKeys(): number {
    return this.options.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  /** Forgets the copy (too many keys): lookups range until a range fits again. */
  private dropCopy(): void {
    this.table.clear();
    this.synced = false;
  }

  /** Ranges the prefix and replaces the copy. */
  private async range(): Promise<void> {
    const answer = await this.options.api.range(this.options.prefix, this.stopping.signal);
    if (answer.kvs.length > this.maxKeys) throw this.overflow();
    const deleted = [...this.table.keys()].filter(k => !answer.kvs.some(kv => kv.key === k));
    this.table.clear();
    for (const kv of answer.kvs) this.table.set(kv.key, kv.value);
    this.revision = answer.revision;
    this.synced = true;
    this.options.logger?.debug?.(M.ranged(this.table.size, String(answer.revision)));
    this.options.onChange(deleted);
  }

  /** Applies one line of the watch stream to the copy. */
  private apply(value: unknown): void {
    let message;
    try {
      message = decodeWatchMessage(value);
    } catch (error) {
      if (!(error instanceof GatewayShapeError)) throw error;
      throw etcdRequestError(
        { kind: 'protocol', message: error.message },
        '/v3/watch',
        this.options.api.client.endpoint,
      );
    }
    switch (message.kind) {
      case 'created':
        this.streaming = true;
        this.succeeded();
        return;
      case 'progress':
        if (message.revision > (this.revision ?? 0n)) this.revision = message.revision;
        return;
      case 'canceled': {
        if (message.compactRevision !== undefined) {
          this.options.logger?.debug?.(
            M.compacted(String(this.revision), String(message.compactRevision)),
          );
          throw new Compacted(M.compacted(String(this.revision), String(message.compactRevision)));
        }
        const failure = { kind: 'canceled' as const, message: M.watchCanceled(message.reason) };
        throw etcdRequestError(failure, '/v3/watch', this.options.api.client.endpoint);
      }
      case 'events': {
        const deleted: string[] = [];
        for (const { type, kv } of message.events) {
          if (type === 'DELETE') {
            if (this.table.delete(kv.key)) deleted.push(kv.key);
          } else {
            this.table.set(kv.key, kv.value);
          }
        }
        if (this.table.size > this.maxKeys) throw this.overflow();
        // Not the header's revision: etcd cuts a catch-up batch at 1,000 revisions while its
        // header already says the store's current revision.
        const last = message.events.at(-1)!.kv.modRevision;
        this.revision = last > 0n ? last : message.revision;
        this.options.onChange(deleted);
        return;
      }
    }
  }

  /**
   * The copy outgrew `maxKeys`: drops it at once (so no lookup reads it), warns (rate-limited) and
   * returns the error ending the stream.
   */
  private overflow(): Overflow {
    this.streaming = false;
    this.dropCopy();
    const suppressed = this.warnings.allow('maxKeys');
    if (suppressed >= 0) this.options.logger?.warn(M.tooManyKeys(this.maxKeys, suppressed));
    return new Overflow(M.tooManyKeys(this.maxKeys, 0));
  }

  private succeeded(): void {
    if (this.warned) this.options.logger?.log(M.watchResumed());
    this.warned = false;
    this.failures = 0;
  }

  /** Counts a failed attempt; returns the delay before the next. */
  private failed(error: unknown): number {
    this.failures++;
    const delay = backoffDelay(this.options.backoff, this.failures);
    const reason = this.options.describe(error);
    if (!this.warned && this.failures >= this.options.failuresBeforeWarning) {
      this.warned = true;
      this.options.logger?.warn(M.watchFailing(this.failures, reason));
    } else {
      this.options.logger?.debug?.(M.watchEnded(this.revision?.toString(), delay, reason));
    }
    return delay;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise(resolve => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }
}
