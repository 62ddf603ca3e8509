import {
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  InvalidConfigError,
  type Peer,
  RateLimitedLog,
  checkMilliseconds,
  describeValue,
  invalidOption,
  isPlainObject,
  toError,
  toPeer,
  withDeadline,
} from '../../core/index.js';
import type { BuiltInDiscoveryOptions } from '../index.js';
import { optionName } from '../option-checks.js';
import { AggregateMessages } from './aggregate.messages.js';
import { childContext } from './child-context.js';

/** How deep aggregates may be nested (an aggregate of plain strategies is 1 deep). */
export const MAX_AGGREGATE_DEPTH = 4;

/**
 * How long one child's `peers()` may take, by default: below the engine's default
 * `discoveryTimeoutMs` (10 s), so a hanging child is cut off and reported while the lookup still
 * has time to answer with the others' peers.
 */
export const DEFAULT_CHILD_TIMEOUT_MS = 5_000;

/** Least time between two warnings about one failing child (or one port conflict). */
const WARN_WINDOW_MS = 60_000;
/** Port conflicts remembered for rate limiting, at most (a bounded table; older ones go first). */
const MAX_CONFLICT_KEYS = 256;

/**
 * Options of the `aggregate` discovery: the union of several strategies' answers. Each child is a
 * built-in strategy's options, a `GEN_CLUSTER_DISCOVERY` short form (`'gossip'`,
 * `'hosts:/etc/gc.hosts'`) or a strategy instance.
 */
export interface AggregateDiscoveryOptions {
  readonly strategy: 'aggregate';
  /** The children, in order of precedence: the first to name a node with a port wins. */
  readonly of: readonly (BuiltInDiscoveryOptions | DiscoveryStrategy | string)[];
  /**
   * How long each child may take to answer, in milliseconds ({@link DEFAULT_CHILD_TIMEOUT_MS},
   * 5,000, by default). A child that misses it counts as failed for that lookup: it keeps its last
   * good answer and is reported, and the others' answers go through. Keep it below the cluster's
   * `discoveryTimeoutMs`, or a hanging child makes the whole lookup time out.
   */
  readonly childTimeoutMs?: number;
}

/** The settings of an {@link AggregateDiscovery} besides its children. */
export type AggregateDiscoverySettings = Pick<AggregateDiscoveryOptions, 'childTimeoutMs'>;

/** One child and what the aggregate remembers of it. */
interface Child {
  readonly strategy: DiscoveryStrategy;
  /** `aggregate[i] <name>`, in logs and in `discoveryError` events. */
  readonly source: string;
  /** Its last answer; undefined until it first answers. */
  lastGood?: readonly (Peer | string)[];
  /** Failed lookups in a row. */
  failures: number;
}

/**
 * The union of several discovery strategies' answers (`{ strategy: 'aggregate', of: [...] }`).
 * Every child is asked at once, each with its own deadline (`childTimeoutMs`) under the lookup's
 * signal. A child that fails or misses its deadline keeps its own last good answer in the union and is reported as a `discoveryError` event whose `source` names
 * it (`aggregate[1] etcd`), so one source's outage never drops the peers of the others; the
 * lookup itself fails only when every child failed and none has ever answered.
 *
 * Nodes are merged by canonical name; when two children give one node different ports, the first
 * child in `of` order wins (a `debug` line says so).
 */
export class AggregateDiscovery implements DiscoveryStrategy {
  readonly name = 'aggregate';
  /** The children, in `of` order. */
  readonly children: readonly DiscoveryStrategy[];
  /** How long each child may take to answer, in milliseconds. */
  readonly childTimeoutMs: number;
  private readonly depth: number;
  private readonly entries: readonly Child[];
  private context: DiscoveryContext | undefined;
  /** One key per child: their count is the configuration's. */
  private readonly warnings = new RateLimitedLog(WARN_WINDOW_MS);
  private readonly conflicts = new RateLimitedLog(WARN_WINDOW_MS, MAX_CONFLICT_KEYS);

  /**
   * @param children the strategies to aggregate, in order of precedence
   * @param settings `childTimeoutMs`; other keys (the `strategy` and `of` of the options these
   *   came from) are ignored
   * @throws InvalidConfigError when `children` is empty, holds a non-strategy or one instance
   *   twice, nests aggregates more than {@link MAX_AGGREGATE_DEPTH} deep, or `childTimeoutMs` is
   *   not a whole number of milliseconds from 1
   */
  constructor(children: readonly DiscoveryStrategy[], settings: AggregateDiscoverySettings = {}) {
    this.childTimeoutMs = checkChildTimeout(settings);
    if (!Array.isArray(children))
      throw new InvalidConfigError(AggregateMessages.notAnArray(describeValue(children)), {
        option: 'of',
      });
    if (children.length === 0)
      throw new InvalidConfigError(AggregateMessages.empty(), { option: 'of' });
    let depth = 1;
    children.forEach((child: unknown, index) => {
      if (!isDiscoveryStrategy(child))
        throw new InvalidConfigError(AggregateMessages.notAStrategy(index, describeValue(child)), {
          option: `of[${index}]`,
        });
      const first = children.indexOf(child);
      if (first !== index)
        throw new InvalidConfigError(AggregateMessages.sameInstance(first, index, child.name), {
          option: `of[${index}]`,
        });
      if (child instanceof AggregateDiscovery) depth = Math.max(depth, child.depth + 1);
    });
    if (depth > MAX_AGGREGATE_DEPTH)
      throw new InvalidConfigError(AggregateMessages.tooDeep(MAX_AGGREGATE_DEPTH), {
        option: 'of',
      });
    this.depth = depth;
    this.children = [...children];
    this.entries = children.map((strategy, i) => ({
      strategy,
      source: `aggregate[${i}] ${strategy.name}`,
      failures: 0,
    }));
  }

  /**
   * Starts every child at once, each with a context of its own (logger prefixed with its source,
   * errors it reports tagged with it). When one fails, the first failure in `of` order is thrown
   * once all have settled; the engine then calls {@link close}, which closes every child.
   */
  async init(context: DiscoveryContext): Promise<void> {
    this.context = context;
    const results = await Promise.allSettled(
      this.entries.map(child => child.strategy.init?.(childContext(context, child.source))),
    );
    const failed = results.find(r => r.status === 'rejected');
    if (failed) throw toError(failed.reason);
  }

  /**
   * Asks every child at once and answers the union of their answers, a failed child's last good
   * one included.
   * @throws DiscoveryError when every child failed and none has answered yet (listing each)
   */
  async peers(signal: AbortSignal): Promise<readonly (Peer | string)[]> {
    // Each child has its own deadline, so one that hangs (or ignores the signal) is cut off and
    // named while the others' answers still reach the cluster. A nested aggregate bounds each of
    // its own children by its own deadline and then answers at once: cutting it off here too
    // would only lose its healthy children's fresh answers in a race between two equal timers.
    const ms = this.childTimeoutMs;
    const results = await Promise.allSettled(
      this.entries.map(child =>
        withDeadline(s => child.strategy.peers(s), {
          ms: child.strategy instanceof AggregateDiscovery ? Infinity : ms,
          signal,
          onTimeout: () =>
            new DiscoveryError(AggregateMessages.childTimedOut(ms), {
              code: 'ERR_DISCOVERY_TIMEOUT',
            }),
        }),
      ),
    );
    // Only the lookup's own abort (its timeout, a stop) fails the whole lookup.
    if (signal.aborted) throw toError(signal.reason);
    const failures: [Child, Error][] = [];
    results.forEach((result, i) => {
      const child = this.entries[i]!;
      if (result.status === 'fulfilled' && Array.isArray(result.value)) {
        this.answered(child, result.value as readonly (Peer | string)[]);
      } else {
        const reason =
          result.status === 'rejected'
            ? toError(result.reason)
            : new DiscoveryError(AggregateMessages.notAnArrayAnswer(typeof result.value));
        child.failures++;
        failures.push([child, reason]);
      }
    });
    if (failures.length === this.entries.length && this.entries.every(c => !c.lastGood)) {
      throw new DiscoveryError(
        AggregateMessages.allFailed(failures.map(([child, error]) => [child.source, error])),
        { cause: failures[0]![1] },
      );
    }
    for (const [child, error] of failures) this.report(child, error);
    return this.union();
  }

  /**
   * Closes every child at once; one failing does not skip the others.
   * @throws DiscoveryError naming each child whose close failed, once all have settled
   */
  async close(): Promise<void> {
    const results = await Promise.allSettled(
      this.entries.map(child => Promise.resolve().then(() => child.strategy.close?.())),
    );
    const failed = results.flatMap((result, i) =>
      result.status === 'rejected'
        ? [[this.entries[i]!.source, toError(result.reason)] as const]
        : [],
    );
    if (failed.length)
      throw new DiscoveryError(AggregateMessages.closeFailed(failed), { cause: failed[0]![1] });
  }

  private answered(child: Child, answer: readonly (Peer | string)[]): void {
    child.lastGood = [...answer];
    if (child.failures === 0) return;
    this.warnings.forget(child.source);
    this.context?.logger.log(AggregateMessages.childRecovered(child.source, child.failures), {
      event: 'discoverySourceRecovered',
      source: child.source,
      failures: child.failures,
    });
    child.failures = 0;
  }

  /** A child failed while the aggregate still answers: one event, and a rate-limited warning. */
  private report(child: Child, cause: Error): void {
    const { source, failures } = child;
    const code: unknown = (cause as { code?: unknown }).code;
    // the message names the source too, for consumers that show only messages
    const error = new DiscoveryError(AggregateMessages.childFailed(source, failures, cause), {
      cause,
      code: cause instanceof DiscoveryError ? discoveryCode(cause) : 'ERR_DISCOVERY_FAILED',
    });
    const context = this.context;
    context?.reportError?.(error, source, failures);
    this.warnings.write(source, AggregateMessages.childFailed(source, failures, cause), message =>
      context?.logger.warn(message, {
        event: 'discoverySourceFailed',
        source,
        consecutive: failures,
        ...(typeof code === 'string' ? { reason: code } : {}),
      }),
    );
  }

  /** One peer per node: the first child (in `of` order) that gives it a port decides it. */
  private union(): (Peer | string)[] {
    const byKey = new Map<string, { peer: Peer; from: Child }>();
    // entries that are no valid peer go through as they are: the engine logs and skips them
    const unusable: (Peer | string)[] = [];
    for (const child of this.entries) {
      for (const entry of child.lastGood ?? []) {
        let peer: Peer;
        try {
          peer = toPeer(entry);
        } catch {
          unusable.push(entry);
          continue;
        }
        const seen = byKey.get(peer.node);
        if (!seen || (seen.peer.port === undefined && peer.port !== undefined)) {
          byKey.set(peer.node, { peer, from: child });
        } else if (peer.port !== undefined && seen.peer.port !== peer.port && seen.from !== child) {
          this.conflict(peer.node, seen.from.source, seen.peer.port!, child.source, peer.port);
        }
      }
    }
    return [...[...byKey.values()].map(v => v.peer), ...unusable];
  }

  private conflict(node: string, kept: string, keptPort: number, other: string, port: number) {
    const logger = this.context?.logger;
    if (!logger?.debug) return;
    this.conflicts.write(
      node,
      AggregateMessages.portConflict(node, kept, keptPort, other, port),
      message => logger.debug?.(message, { event: 'discoveryPortConflict', peer: node }),
    );
  }
}

/** `settings.childTimeoutMs`, checked, or the default. */
function checkChildTimeout(settings: unknown): number {
  const option = optionName('aggregate', 'childTimeoutMs');
  if (!isPlainObject(settings))
    throw invalidOption(optionName('aggregate'), settings, AggregateMessages.accepts);
  // `null` is refused, not taken for "unset"
  const value =
    settings.childTimeoutMs === undefined ? DEFAULT_CHILD_TIMEOUT_MS : settings.childTimeoutMs;
  checkMilliseconds(option, value);
  return value;
}

/** The code of a child's `DiscoveryError`, kept on the aggregate's report of it. */
function discoveryCode(error: DiscoveryError): 'ERR_DISCOVERY_FAILED' | 'ERR_DISCOVERY_TIMEOUT' {
  return error.code === 'ERR_DISCOVERY_TIMEOUT' ? 'ERR_DISCOVERY_TIMEOUT' : 'ERR_DISCOVERY_FAILED';
}

function isDiscoveryStrategy(value: unknown): value is DiscoveryStrategy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<DiscoveryStrategy>).peers === 'function'
  );
}
