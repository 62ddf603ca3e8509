import {
  type BackoffOptions,
  type ClusterLogger,
  DiscoveryError,
  backoffDelay,
} from '../../core/index.js';
import type { KubeApiClient } from './api-client.js';
import {
  type EndpointSlice,
  type EndpointSliceList,
  isEndpointSlice,
  isKubeStatus,
} from './endpoint-slice.js';
import { KubeRequestError, kubeRequestError } from './kubernetes.errors.js';
import { KubernetesMessages } from './kubernetes.messages.js';

/** Settings of a {@link SliceWatcher}. */
export interface SliceWatcherOptions {
  readonly client: KubeApiClient;
  /** Path of the list request, with its label selector. */
  readonly listPath: string;
  /** Path of a watch from a resourceVersion. */
  readonly watchPath: (resourceVersion: string) => string;
  /** Delay between failed attempts. */
  readonly backoff: BackoffOptions;
  /** Failed attempts in a row after which the discovery lists at every refresh. */
  readonly failuresBeforePolling: number;
  /** A stream is cut (and resumed) after this long, in case its connection died silently. */
  readonly maxStreamMs: number;
  readonly logger: ClusterLogger | undefined;
  /** The watched set changed. */
  readonly onChange: () => void;
  /** Words for an error, for logs. */
  readonly describe: (error: unknown) => string;
}

/** A stream shorter than this that brought no event counts as a failed attempt. */
const MIN_HEALTHY_STREAM_MS = 1_000;

/**
 * Keeps a copy of the EndpointSlices through a list, then a watch from the list's
 * resourceVersion (with bookmarks), as client-go's reflector does:
 *
 * - every event moves the resourceVersion on, and so does a BOOKMARK; a stream that ends or
 *   breaks is resumed from the last resourceVersion, without a new list;
 * - 410 Gone (an `ERROR` event, or the status of the watch request) means the resourceVersion is
 *   too old: list again, replacing the copy, and watch from there;
 * - a failed attempt (refused, broken at once, 5xx, timeout) waits on an exponential backoff with
 *   jitter; after `failuresBeforePolling` failures in a row the watcher says so (the discovery
 *   then lists at every refresh) and keeps trying at the capped backoff.
 *
 * The copy is usable ({@link healthy}) while a stream is open after a successful list.
 */
export class SliceWatcher {
  private readonly slices = new Map<string, EndpointSlice>();
  private resourceVersion: string | undefined;
  private synced = false;
  private streaming = false;
  private failures = 0;
  private polling = false;
  private readonly stopping = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private healthyTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SliceWatcherOptions) {}

  /** Whether the copy is current: listed, and a watch stream is open. */
  get healthy(): boolean {
    return this.synced && this.streaming && !this.stopping.signal.aborted;
  }

  /** The resourceVersion the watch resumes from. */
  get version(): string | undefined {
    return this.resourceVersion;
  }

  /** The slices watched now. */
  snapshot(): EndpointSlice[] {
    return [...this.slices.values()];
  }

  /** Starts the list-and-watch loop. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Ends the stream and the timers, and waits for the loop to finish. */
  async stop(): Promise<void> {
    this.stopping.abort(new DiscoveryError(KubernetesMessages.closed()));
    clearTimeout(this.timer);
    clearTimeout(this.healthyTimer);
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      let delay = 0;
      let events = 0;
      let openedAt: number | undefined;
      let relisted = false;
      // Healthy: the stream brought events, or stayed open a while (not refused or cut at once).
      const wasHealthy = () =>
        events > 0 ||
        (openedAt !== undefined && performance.now() - openedAt >= MIN_HEALTHY_STREAM_MS);
      try {
        if (!this.synced) {
          await this.relist();
          relisted = true;
        }
        await this.options.client.watch(this.options.watchPath(this.resourceVersion!), {
          signal,
          maxDurationMs: this.options.maxStreamMs,
          onOpen: () => {
            openedAt = performance.now();
            this.streaming = true;
            // A stream that stays open a while counts as working (ends the polling fallback).
            this.healthyTimer = setTimeout(() => this.succeeded(), MIN_HEALTHY_STREAM_MS);
            this.healthyTimer.unref();
          },
          onValue: value => {
            this.apply(value); // throws on ERROR events, which are not counted
            events++;
            if (this.failures > 0) this.succeeded();
          },
        });
        // The server ended the stream (its timeout): resume at once from the last version.
        if (wasHealthy()) this.succeeded();
        else delay = this.failed(endedAtOnce(this.options.watchPath(this.resourceVersion!)));
      } catch (error) {
        this.streaming = false;
        if (signal.aborted) break;
        // 410 Gone (an ERROR event, or the watch request's status): the version is too old.
        const gone =
          error instanceof KubeRequestError &&
          error.failure.kind === 'status' &&
          error.failure.status === 410;
        if (gone) {
          this.options.logger?.debug?.(KubernetesMessages.gone(this.resourceVersion));
          this.synced = false;
          // The version of a list just made already gone is a broken server: back off.
          if (relisted && events === 0) delay = this.failed(error);
        } else if (wasHealthy() && isBreak(error)) {
          // A stream that worked broke off: resume at once from the last resourceVersion.
          this.succeeded();
          this.options.logger?.debug?.(
            KubernetesMessages.watchEnded(this.resourceVersion, 0, this.options.describe(error)),
          );
        } else {
          delay = this.failed(error);
        }
      } finally {
        this.streaming = false;
        clearTimeout(this.healthyTimer);
      }
      if (delay > 0 && !signal.aborted) await this.sleep(delay);
    }
  }

  /** Lists the slices and replaces the copy. */
  private async relist(): Promise<void> {
    const list = await this.options.client.getJson<EndpointSliceList>(
      this.options.listPath,
      this.stopping.signal,
    );
    const items = list?.items ?? [];
    const version = list?.metadata?.resourceVersion;
    if (!Array.isArray(items) || typeof version !== 'string' || version === '') {
      throw kubeRequestError(
        { kind: 'protocol', message: KubernetesMessages.notSliceListWithVersion() },
        this.options.listPath,
      );
    }
    this.slices.clear();
    for (const item of items) if (isEndpointSlice(item)) this.slices.set(key(item), item);
    this.resourceVersion = version;
    this.synced = true;
    this.options.logger?.debug?.(KubernetesMessages.listed(this.slices.size, version));
    this.options.onChange();
  }

  /** Applies one watch event to the copy. */
  private apply(value: unknown): void {
    const event = value as { type?: unknown; object?: unknown };
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
      throw kubeRequestError(
        { kind: 'protocol', message: KubernetesMessages.eventWithoutType() },
        '(watch)',
      );
    }
    const object = event.object;
    switch (event.type) {
      case 'ERROR': {
        const status = isKubeStatus(object) ? object : undefined;
        throw kubeRequestError(
          { kind: 'status', status: status?.code ?? 500, body: status, text: '' },
          '(watch)',
        );
      }
      case 'BOOKMARK': {
        const version = (object as { metadata?: { resourceVersion?: unknown } } | undefined)
          ?.metadata?.resourceVersion;
        if (typeof version === 'string' && version !== '') this.resourceVersion = version;
        return;
      }
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        if (!isEndpointSlice(object)) {
          throw kubeRequestError(
            { kind: 'protocol', message: KubernetesMessages.eventWithoutSlice(event.type) },
            '(watch)',
          );
        }
        if (event.type === 'DELETED') this.slices.delete(key(object));
        else this.slices.set(key(object), object);
        const version = object.metadata.resourceVersion;
        if (typeof version === 'string' && version !== '') this.resourceVersion = version;
        this.options.onChange();
        return;
      }
      default:
        this.options.logger?.debug?.(KubernetesMessages.ignoredEvent(event.type));
    }
  }

  private succeeded(): void {
    if (this.polling) this.options.logger?.log(KubernetesMessages.watchResumed());
    this.polling = false;
    this.failures = 0;
  }

  /** Counts a failed attempt; returns the delay before the next. */
  private failed(error: unknown): number {
    this.failures++;
    const delay = backoffDelay(this.options.backoff, this.failures);
    const reason = this.options.describe(error);
    if (!this.polling && this.failures >= this.options.failuresBeforePolling) {
      this.polling = true;
      this.options.logger?.warn(KubernetesMessages.watchFallback(this.failures, reason));
    } else {
      this.options.logger?.debug?.(
        KubernetesMessages.watchEnded(this.resourceVersion, delay, reason),
      );
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

/** A connection that broke or timed out (rather than a refusal or bad data from the server). */
function isBreak(error: unknown): boolean {
  return (
    error instanceof KubeRequestError &&
    (error.failure.kind === 'network' || error.failure.kind === 'timeout')
  );
}

/**
 * A stream the server ended before it brought anything. Code `ERROR` is what the discovery shows
 * for a failure without a system error code: a server that hangs up at once is no network fault.
 */
function endedAtOnce(path: string): KubeRequestError {
  const message = KubernetesMessages.streamEndedAtOnce();
  return kubeRequestError({ kind: 'network', code: 'ERROR', message, tls: false }, path);
}

function key(slice: EndpointSlice): string {
  return `${slice.metadata.namespace ?? ''}/${slice.metadata.name ?? ''}`;
}
