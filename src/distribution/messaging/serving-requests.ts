/**
 * The requests this node is serving, by requester, so that a handler's `context.signal` aborts
 * when the requester goes away (its node goes down, leaves or restarts) or messaging closes.
 *
 * Cheap for handlers that never read the signal: a request costs its context object, one map
 * look-up and a counter; the `AbortController` is only created when a handler reads `signal`.
 * Because the controller may be created late, each requester's in-flight requests share a group
 * that remembers whether its node went down, so a signal first read after that is born aborted.
 * A total across requesters tells the drain when this node has nothing left to answer.
 */
import type { MessageContext, MessageKind } from '../../core/index.js';

/**
 * The requests in flight from one requester.
 * @internal
 */
export interface RequesterGroup {
  /** Requests of this requester whose handler has not settled. */
  inFlight: number;
  /** The reason its node went down, once it did (the group is then out of the table). */
  down: ((topic: string) => Error) | undefined;
  /** Messages whose handler read `signal`, to abort. */
  readers: Set<IncomingMessage> | undefined;
}

/**
 * The table of requests being served: groups by requester, created by the first request in
 * flight from a node and removed with its last, or when the node goes down.
 * @internal
 */
export class ServingRequests {
  private readonly groups = new Map<string, RequesterGroup>();
  // The group of the last requester whose requests all settled, reused by the next new one: one
  // request at a time from a node would otherwise allocate a group for each.
  private spare: RequesterGroup | undefined;
  private closedReason: (() => Error) | undefined;
  private inFlight = 0;
  // Callers of whenIdle, each resolved (and removed) at the next zero or removed by its signal.
  private readonly idleWaiters = new Set<() => void>();

  /** Requests whose handler has not settled, from every requester (also after close). */
  get total(): number {
    return this.inFlight;
  }

  /**
   * Resolves once no request is in flight (at once when none is); rejects with `signal.reason`
   * when `signal` aborts first or is already aborted.
   */
  whenIdle(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.idleWaiters.delete(waiter);
        reject(signal!.reason);
      };
      const waiter = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.idleWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Requesters with a request in flight. */
  get requesters(): number {
    return this.groups.size;
  }

  /** Signals created and not yet released (handlers that read `signal` and still run). */
  get signals(): number {
    let count = 0;
    for (const group of this.groups.values()) count += group.readers?.size ?? 0;
    return count;
  }

  /** The context of a request from `from` on `topic`; call {@link IncomingMessage.settled} after. */
  request(from: string, topic: string): IncomingMessage {
    let group = this.groups.get(from);
    if (group === undefined) {
      group = this.spare ?? { inFlight: 0, down: undefined, readers: undefined };
      this.spare = undefined;
      this.groups.set(from, group);
    }
    group.inFlight++;
    this.inFlight++;
    return new IncomingMessage(from, topic, 'request', this, group);
  }

  /**
   * Aborts the signals of every request from `node` with the error `reason(topic)` builds, and of
   * those whose handler reads `signal` later; requests arriving from a new incarnation start a
   * new group.
   */
  nodeDown(node: string, reason: (topic: string) => Error): void {
    const group = this.groups.get(node);
    if (group === undefined) return;
    this.groups.delete(node);
    group.down = reason;
    const readers = group.readers;
    group.readers = undefined;
    if (readers !== undefined) for (const message of readers) message.abort(reason(message.topic));
  }

  /** Aborts every signal, now and when read later, with the error `reason()` builds. */
  close(reason: () => Error): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const groups = [...this.groups.values()];
    this.groups.clear();
    for (const group of groups) {
      const readers = group.readers;
      group.readers = undefined;
      if (readers !== undefined) for (const message of readers) message.abort(reason());
    }
  }

  /** @internal called by {@link IncomingMessage} */
  controllerFor(message: IncomingMessage, group: RequesterGroup): AbortController {
    const controller = new AbortController();
    if (this.closedReason !== undefined) controller.abort(this.closedReason());
    else if (group.down !== undefined) controller.abort(group.down(message.topic));
    else (group.readers ??= new Set()).add(message);
    return controller;
  }

  /** @internal called by {@link IncomingMessage} once its handler settled */
  release(message: IncomingMessage, group: RequesterGroup): void {
    group.readers?.delete(message);
    if (--this.inFlight === 0 && this.idleWaiters.size > 0) {
      const waiters = [...this.idleWaiters];
      this.idleWaiters.clear();
      for (const waiter of waiters) waiter();
    }
    if (--group.inFlight === 0 && this.groups.get(message.from) === group) {
      this.groups.delete(message.from);
      // Every message of it settled (they no longer read it), and it never went down: reusable.
      group.readers = undefined;
      this.spare = group;
    }
  }
}

/**
 * The {@link MessageContext} a handler gets. For a request, `signal` is created on first read
 * and registered with the {@link ServingRequests}; one-way messages have none.
 * @internal
 */
export class IncomingMessage implements MessageContext {
  // Private fields (#): the context a handler sees shows from, topic and kind only.
  readonly #serving: ServingRequests | undefined;
  readonly #group: RequesterGroup | undefined;
  #controller: AbortController | undefined = undefined;
  #done = false;

  constructor(
    readonly from: string,
    readonly topic: string,
    readonly kind: MessageKind,
    serving?: ServingRequests,
    group?: RequesterGroup,
  ) {
    this.#serving = serving;
    this.#group = group;
  }

  /** Requests only: aborted when the requester's node goes down or messaging closes. */
  get signal(): AbortSignal | undefined {
    if (this.#group === undefined) return undefined;
    if (this.#controller === undefined) {
      // Read after the handler settled (a callback kept the context): nothing left to abort.
      this.#controller = this.#done
        ? new AbortController()
        : this.#serving!.controllerFor(this, this.#group);
    }
    return this.#controller.signal;
  }

  /** Ends the request's registration; its handler settled. Idempotent. */
  settled(): void {
    if (this.#done || this.#group === undefined) return;
    this.#done = true;
    this.#serving!.release(this, this.#group);
  }

  /** @internal aborts the signal (it was read) */
  abort(reason: Error): void {
    this.#controller?.abort(reason);
  }
}
