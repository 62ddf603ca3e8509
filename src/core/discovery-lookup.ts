/**
 * One question to the discovery strategy per refresh: its answer within the discovery timeout,
 * checked and made canonical. A failed lookup is reported, and the engine keeps its last good
 * answer. Its warnings are rate-limited (a failing DNS at a 1 s interval must not write a line a
 * second): the first failure of each kind (error code and cause) is a warning at once, later ones
 * of that kind a `debug` line each and at most one summary warning per
 * {@link DISCOVERY_FAILURE_SUMMARY_MS} with how many were held back, and the first answer after
 * failures a `log` line.
 */
import { withDeadline } from './deadline.js';
import { DiscoveryError, toError } from './errors.js';
import type { ClusterLogger } from './logger.js';
import { CoreMessages } from './messages.js';
import { RateLimitedLog } from './rate-limited-log.js';
import { type Peer, toPeer } from './peer.js';
import type { DiscoveryStrategy } from './strategy.js';

/** Least time between two warnings of one kind of discovery failure (a summary with a count). */
export const DISCOVERY_FAILURE_SUMMARY_MS = 60_000;

/** Kinds of discovery failure whose warnings are limited apart, at most. */
const MAX_FAILURE_KINDS = 16;

/** What a {@link DiscoveryLookup} needs from the engine. */
export interface DiscoveryLookupOptions {
  /** This node's canonical name, left out of every answer. */
  readonly self: string;
  /** How long one lookup may take. */
  readonly timeoutMs: number;
  /** Aborts when the cluster stops: a lookup in flight then ends at once, unreported. */
  readonly stopping: AbortSignal;
  /** Where failed lookups and skipped entries are logged. */
  readonly logger: ClusterLogger;
  /** Told of each failed lookup, with the number of failures in a row (1 for the first). */
  readonly failed: (error: DiscoveryError, consecutive: number) => void;
  /**
   * Least time between two warnings of one kind of failure; {@link DISCOVERY_FAILURE_SUMMARY_MS}
   * when unset.
   * @internal Tests shorten it; the default is not a setting.
   */
  readonly summaryIntervalMs?: number;
}

/** How discovery has been going, for health checks (see `ClusterHealthSnapshot`). */
export interface DiscoveryHealth {
  /** Milliseconds since the last answer (monotonic clock); undefined before the first. */
  readonly lastDiscoveryOkAgoMs: number | undefined;
  /** Failed lookups in a row (0 after an answer). */
  readonly consecutiveDiscoveryErrors: number;
  /**
   * The last failure's message, while failing. For programmatic use only: it can name API-server
   * URLs, DNS names or an HTTP response, so no health verdict's message repeats it.
   */
  readonly lastDiscoveryError: string | undefined;
  /** Milliseconds since the current run of failures began; undefined while not failing. */
  readonly discoveryFailingForMs: number | undefined;
}

/** Asks a discovery strategy for its peers, bounded in time, and counts failures in a row. */
export class DiscoveryLookup {
  private failures = 0;
  /** When the current run of failures began (monotonic ms). */
  private failingSince = 0;
  /** When the last answer came (monotonic ms), for readiness. */
  private lastOkAt: number | undefined;
  private lastError: string | undefined;
  private readonly warnings: RateLimitedLog;
  /** The kinds warned about during the current run of failures, forgotten when it ends. */
  private readonly kinds = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryStrategy,
    private readonly options: DiscoveryLookupOptions,
  ) {
    this.warnings = new RateLimitedLog(
      options.summaryIntervalMs ?? DISCOVERY_FAILURE_SUMMARY_MS,
      MAX_FAILURE_KINDS,
    );
  }

  /** How discovery has been going: read, never timed, so asking costs nothing. */
  health(): DiscoveryHealth {
    const now = performance.now();
    const failing = this.failures > 0;
    return {
      lastDiscoveryOkAgoMs: this.lastOkAt === undefined ? undefined : now - this.lastOkAt,
      consecutiveDiscoveryErrors: this.failures,
      lastDiscoveryError: failing ? this.lastError : undefined,
      discoveryFailingForMs: failing ? now - this.failingSince : undefined,
    };
  }

  /**
   * The discovered peers, one per node and without self; `undefined` when the lookup failed
   * (reported through `failed`) or the cluster is stopping.
   */
  async peers(): Promise<Peer[] | undefined> {
    const { timeoutMs: ms, stopping } = this.options;
    const strategy = this.discovery.name;
    try {
      // Settles on stop or at the deadline even if the discovery ignores its signal.
      const raw = await withDeadline(signal => this.discovery.peers(signal), {
        ms,
        signal: stopping,
        onTimeout: () =>
          new DiscoveryError(CoreMessages.discoveryTimeout(strategy, ms), {
            code: 'ERR_DISCOVERY_TIMEOUT',
          }),
      });
      if (!Array.isArray(raw)) {
        throw new DiscoveryError(CoreMessages.discoveryNotAnArray(strategy, typeof raw));
      }
      this.recovered();
      return canonicalPeers(raw, this.options.self, error =>
        this.options.logger.warn(CoreMessages.unusablePeer(strategy, error)),
      );
    } catch (thrown) {
      if (stopping.aborted) return undefined;
      this.failures++;
      if (this.failures === 1) this.failingSince = performance.now();
      const cause = toError(thrown);
      const error =
        cause instanceof DiscoveryError
          ? cause
          : new DiscoveryError(CoreMessages.discoveryFailed(strategy, cause), { cause });
      this.lastError = error.message;
      this.warn(error);
      this.options.failed(error, this.failures);
      return undefined;
    }
  }

  /** The line of one failed lookup: a warning, a summary warning, or a debug line. */
  private warn(error: DiscoveryError): void {
    const { logger } = this.options;
    const kind = failureKind(error);
    if (this.kinds.size < MAX_FAILURE_KINDS) this.kinds.add(kind);
    const fields = { event: 'discoveryFailed', reason: error.code, consecutive: this.failures };
    const held = this.warnings.allow(kind);
    if (held < 0) {
      logger.debug?.(error.message, fields);
    } else if (held === 0) {
      logger.warn(error.message, fields);
    } else {
      const forMs = performance.now() - this.failingSince;
      logger.warn(
        CoreMessages.discoveryStillFailing(
          this.discovery.name,
          held + 1,
          this.failures,
          forMs,
          error,
        ),
        { ...fields, event: 'discoveryStillFailing', suppressed: held },
      );
    }
  }

  /** An answer: a run of failures, if any, ends with a line, and its kinds warn at once again. */
  private recovered(): void {
    const failures = this.failures;
    this.failures = 0;
    this.lastOkAt = performance.now();
    this.lastError = undefined;
    for (const kind of this.kinds) this.warnings.forget(kind);
    this.kinds.clear();
    if (failures === 0) return;
    const forMs = performance.now() - this.failingSince;
    this.options.logger.log(CoreMessages.discoveryRecovered(this.discovery.name, failures, forMs), {
      event: 'discoveryRecovered',
      failures,
    });
  }
}

/** One kind of failure: its code and its cause's code (`ESERVFAIL`, `ETIMEOUT`, an HTTP status). */
function failureKind(error: DiscoveryError): string {
  const cause = (error as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return `${error.code}:${typeof code === 'string' || typeof code === 'number' ? code : ''}`;
}

/**
 * One peer per node name, without `self`. Of two entries for one node, the first with a port
 * wins: a node named both with and without its port is one node. Entries that are not valid
 * peers are skipped and passed to `unusable`.
 */
export function canonicalPeers(
  raw: readonly (Peer | string)[],
  self: string,
  unusable: (error: Error) => void,
): Peer[] {
  const byKey = new Map<string, Peer>();
  for (const entry of raw) {
    let peer: Peer;
    try {
      peer = toPeer(entry);
    } catch (error) {
      unusable(toError(error));
      continue;
    }
    if (peer.node === self) continue;
    const known = byKey.get(peer.node);
    if (!known || (known.port === undefined && peer.port !== undefined)) byKey.set(peer.node, peer);
  }
  return [...byKey.values()];
}
