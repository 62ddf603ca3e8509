import {
  type BackoffOptions,
  type ClusterLogger,
  DiscoveryError,
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
  /** A stream is cut (and resumed) after this long, in case its connection died silently. */
  readonly maxStreamMs: number;
  readonly logger: ClusterLogger | undefined;
  /** The watched keys changed; `deleted` lists the keys deleted by this change. */
  readonly onChange: (deleted: readonly string[]) => void;
  /** Words for an error, for logs. */
  readonly describe: (error: unknown) => string;
}

/** Thrown inside the stream handler when etcd compacted the revision the watch starts from. */
class Compacted extends DiscoveryError {}

/**
 * Keeps a copy of the keys under a prefix: range once, then watch from the range's revision + 1.
 *
 * - every event moves the revision on; a stream that ends or breaks is resumed from the last
 *   revision + 1 without a new range, after a backoff with jitter when it failed;
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

  constructor(private readonly options: PrefixWatcherOptions) {}

  /** Whether the copy is current: ranged, and a watch stream is open. */
  get healthy(): boolean {
    return this.synced && this.streaming && !this.stopping.signal.aborted;
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
      try {
        if (!this.synced) await this.range();
        await api.client.stream('/v3/watch', EtcdApi.watchRequest(prefix, this.revision! + 1n), {
          signal,
          maxDurationMs: this.options.maxStreamMs,
          onValue: value => this.apply(value),
        });
        // The server ended the stream: resume from the last revision (after a backoff when it
        // ended before etcd said the watch was created).
        const opened = this.streaming;
        this.streaming = false;
        if (!opened) {
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
        if (error instanceof Compacted) {
          this.synced = false;
        } else if (isInvalidToken(error) && !tokenRetried) {
          tokenRetried = true;
          api.client.invalidateToken();
          continue;
        } else {
          delay = this.failed(error);
        }
      }
      tokenRetried = false;
      if (delay > 0 && !signal.aborted) await this.sleep(delay);
    }
  }

  /** Ranges the prefix and replaces the copy. */
  private async range(): Promise<void> {
    const answer = await this.options.api.range(this.options.prefix, this.stopping.signal);
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
        this.revision = message.revision;
        this.options.onChange(deleted);
        return;
      }
    }
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
