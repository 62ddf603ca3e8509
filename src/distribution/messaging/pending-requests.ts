/**
 * The table of requests awaiting an answer: their ids, their timeouts and abort listeners, and
 * the ways they end (answered, timed out, aborted, their node down, messaging closed). Whichever
 * outcome comes first removes the request from the table, so each request ends exactly once and
 * later outcomes find nothing.
 *
 * Not core's `withDeadline`: a request is ended from outside (by its response, found by id, or by
 * its node going down), and each way out has its own typed error.
 */
import {
  DeadlineItem,
  DeadlineQueue,
  type DeadlineQueueOptions,
  type OutgoingScope,
  type RequestOutcome,
} from '../../core/index.js';
import { NodeDownError } from '../transport.errors.js';
import { TransportMessages } from '../transport.messages.js';
import {
  RequestAbortedError,
  RequestTimeoutError,
  TooManyRequestsError,
} from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import { MessagingStats } from './messaging-stats.js';

/**
 * Hands out uint32 request ids in order, wrapping around after 4294967295 (the envelope's
 * `MAX_REQUEST_ID`) and skipping ids still in use.
 * @internal
 */
export class RequestIdAllocator {
  constructor(
    /** The next id to try. */
    public next = 1,
  ) {}

  /** Returns the first id from `next` on for which `inUse` is false. */
  take(inUse: (id: number) => boolean): number {
    let id = this.next >>> 0;
    while (inUse(id)) id = (id + 1) >>> 0;
    this.next = (id + 1) >>> 0;
    return id;
  }
}

/**
 * A request awaiting its answer, as the caller of {@link PendingRequests.take} gets it.
 * @internal
 */
export interface PendingRequest {
  readonly id: number;
  /** The node asked: only its answer settles the request. */
  readonly node: string;
  readonly topic: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** What instrumentation hears of its end, when a hook returned a scope. */
  readonly scope: OutgoingScope | undefined;
}

/**
 * What {@link PendingRequests.open} needs to know of a new request.
 * @internal
 */
export interface NewRequest {
  readonly node: string;
  readonly topic: string;
  /** Time allowed for the answer, already checked against the timer ceiling. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** What instrumentation hears of its end, when a hook returned a scope. */
  readonly scope?: OutgoingScope;
}

/** A pending request; its deadline fields belong to the table's {@link DeadlineQueue}. */
class Entry extends DeadlineItem implements PendingRequest {
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly id: number,
    readonly node: string,
    readonly topic: string,
    readonly timeoutMs: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
    readonly scope: OutgoingScope | undefined,
  ) {
    super();
  }
}

/**
 * Requests awaiting an answer, by id and by node, bounded by `maxPending`. Their timeouts share
 * one timer (see {@link DeadlineQueue}), which does not keep the process alive and which
 * {@link failAll} stops.
 * @internal
 */
export class PendingRequests {
  private readonly byId = new Map<number, Entry>();
  private readonly byNode = new Map<string, Set<Entry>>();
  // The set of the last node whose requests all ended, reused by the next node: one request at a
  // time to a node would otherwise allocate a set for each.
  private spare: Set<Entry> | undefined;
  private readonly deadlines: DeadlineQueue<Entry>;
  // Built once: the allocator asks it for each id.
  private readonly inUse = (id: number): boolean => this.byId.has(id);

  /**
   * @param maxPending most requests at once (`maxPendingRequests`)
   * @param ids where request ids come from
   * @param stats where each request's outcome is counted
   * @param deadlines the clock and timers of the timeouts (the process's by default)
   */
  constructor(
    private readonly maxPending: number,
    private readonly ids: RequestIdAllocator,
    private readonly stats: MessagingStats = new MessagingStats(),
    deadlines?: DeadlineQueueOptions,
  ) {
    this.deadlines = new DeadlineQueue<Entry>(entry => this.timedOut(entry), deadlines);
  }

  /** Requests awaiting an answer. */
  get size(): number {
    return this.byId.size;
  }

  /** Requests awaiting an answer from `node`; O(1). */
  countFor(node: string): number {
    return this.byNode.get(node)?.size ?? 0;
  }

  /**
   * Refuses a request before anything is spent on it.
   * @throws RequestAbortedError when `signal` has already fired; TooManyRequestsError when the
   * table is full.
   */
  admit(node: string, topic: string, signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw aborted(node, topic, signal);
    if (this.byId.size >= this.maxPending) {
      throw new TooManyRequestsError(MessagingMessages.tooManyRequests(this.maxPending), {
        limit: this.maxPending,
      });
    }
  }

  /**
   * Adds a request (after {@link admit}): takes a free id and arms its timeout and its abort
   * listener, which reject it with {@link RequestTimeoutError} or {@link RequestAbortedError}.
   * The arguments are those of {@link NewRequest}, passed one by one on the path of every request.
   * @returns the request's id
   */
  open(
    node: string,
    topic: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
    scope: OutgoingScope | undefined,
  ): number {
    const id = this.ids.take(this.inUse);
    const entry = new Entry(id, node, topic, timeoutMs, resolve, reject, scope);
    this.byId.set(id, entry);
    let forNode = this.byNode.get(node);
    if (forNode === undefined) {
      forNode = this.spare ?? new Set();
      this.spare = undefined;
      this.byNode.set(node, forNode);
    }
    forNode.add(entry);
    this.deadlines.add(entry, timeoutMs);
    if (signal !== undefined) {
      entry.signal = signal;
      entry.onAbort = () => {
        if (this.byId.get(id) !== entry) return;
        this.forget(entry);
        const error = aborted(node, topic, signal);
        this.ended(entry, 'aborted', error);
        reject(error);
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    return id;
  }

  /**
   * Removes request `id` without settling it: its message could not be sent (the caller ends
   * it), or, given an `outcome`, the caller settles it with `error` (a requestAll aborted).
   */
  drop(id: number, outcome?: RequestOutcome, error?: Error): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    this.forget(entry);
    if (outcome !== undefined) this.ended(entry, outcome, error);
  }

  /**
   * Counts how a request ended and tells its scope; called once per request, by whoever settles
   * it, before settling.
   */
  ended(request: PendingRequest, outcome: RequestOutcome, error?: Error): void {
    this.stats.ended(outcome);
    request.scope?.end(outcome, error);
  }

  /**
   * Removes and returns request `id` for its answer from `from`; `undefined` (and nothing removed)
   * when no such request is pending or it was sent to another node.
   */
  take(id: number, from: string): PendingRequest | undefined {
    const entry = this.byId.get(id);
    if (entry === undefined || entry.node !== from) return undefined;
    this.forget(entry);
    return entry;
  }

  /**
   * Rejects every request pending on `node` with {@link NodeDownError}, naming the node and the
   * request's topic.
   */
  failNode(node: string): void {
    const entries = this.byNode.get(node);
    if (entries === undefined) return;
    for (const entry of [...entries]) {
      this.forget(entry);
      const error = new NodeDownError(TransportMessages.nodeDown(node, entry.topic), {
        node,
        topic: entry.topic,
      });
      this.ended(entry, 'nodeDown', error);
      entry.reject(error);
    }
  }

  /**
   * Rejects every pending request with the error `reason()` builds for each, and stops the timer
   * of the timeouts (messaging is closing; a request opened later arms it again).
   */
  failAll(reason: () => Error): void {
    for (const entry of [...this.byId.values()]) {
      this.forget(entry);
      const error = reason();
      this.ended(entry, 'closed', error);
      entry.reject(error);
    }
    this.deadlines.clear();
  }

  /** Its timeout passed: rejects it with {@link RequestTimeoutError}. */
  private timedOut(entry: Entry): void {
    if (this.byId.get(entry.id) !== entry) return;
    this.forget(entry);
    const { node, topic, timeoutMs } = entry;
    const error = new RequestTimeoutError(
      MessagingMessages.requestTimeout(node, topic, timeoutMs),
      {
        node,
        topic,
        timeoutMs,
      },
    );
    this.ended(entry, 'timeout', error);
    entry.reject(error);
  }

  /** Forgets a request: its deadline, abort listener and index entries. */
  private forget(entry: Entry): void {
    if (this.byId.get(entry.id) === entry) this.byId.delete(entry.id);
    const forNode = this.byNode.get(entry.node);
    if (forNode !== undefined && forNode.delete(entry) && forNode.size === 0) {
      this.byNode.delete(entry.node);
      this.spare = forNode;
    }
    this.deadlines.remove(entry);
    if (entry.onAbort !== undefined) {
      entry.signal!.removeEventListener('abort', entry.onAbort);
      entry.signal = undefined;
      entry.onAbort = undefined;
    }
  }
}

function aborted(node: string, topic: string, signal: AbortSignal): RequestAbortedError {
  return new RequestAbortedError(MessagingMessages.requestAborted(node, topic), {
    node,
    topic,
    cause: signal.reason,
  });
}
