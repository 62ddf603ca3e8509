/**
 * The instrumentation hooks of the messaging layer (metrics, traces, a user's own): the sets
 * attached, composed into one object rebuilt on each add and remove so that the message path
 * pays one null check when none is attached, and the scopes that isolate a failing hook (skipped
 * for that message, logged) and end each operation exactly once.
 */
import {
  InvalidConfigError,
  type IncomingScope,
  type MessageHeaders,
  type MessageKind,
  type MessagingInstrumentation,
  type OutgoingMessageInfo,
  type OutgoingScope,
  type RequestOutcome,
  toError,
} from '../../core/index.js';
import type { MessagingStats } from './messaging-stats.js';
import { MessagingMessages } from './messaging.messages.js';
import { RequestAbortedError } from './messaging.errors.js';
import { RESERVED_TOPIC_PREFIX } from './topic.js';

/**
 * Logs a hook's failure (rate-limited by key).
 * @internal
 */
export type InstrumentationLog = (key: string, message: string) => void;

/** One attachment of a hook set (the same set may be attached twice). */
interface Attached {
  readonly hooks: MessagingInstrumentation;
}

/**
 * The hook sets attached to one messaging layer.
 * @internal
 */
export class Instrumentation {
  private readonly sets: Attached[] = [];
  // Rebuilt on add/remove: undefined when no set has the hook, the message path's one check.
  private outgoingHooks: readonly MessagingInstrumentation[] | undefined;
  private incomingHooks: readonly MessagingInstrumentation[] | undefined;

  constructor(private readonly log: InstrumentationLog) {}

  /** Whether an `incoming` hook is attached (received headers are decoded only then). */
  get hasIncoming(): boolean {
    return this.incomingHooks !== undefined;
  }

  /**
   * Attaches a set of hooks; the same set twice is attached twice.
   * @returns a function that removes this attachment (idempotent).
   * @throws InvalidConfigError when `hooks` is not an object of optional functions.
   */
  add(hooks: MessagingInstrumentation): () => void {
    checkHooks(hooks);
    // A wrapper of its own: removing one attachment of a set attached twice leaves the other.
    const attached: Attached = { hooks };
    this.sets.push(attached);
    this.rebuild();
    return () => {
      const index = this.sets.indexOf(attached);
      if (index < 0) return;
      this.sets.splice(index, 1);
      this.rebuild();
    };
  }

  /**
   * Tells the `outgoing` hooks of a message leaving; `undefined` (and nothing allocated) when
   * none is attached or none returned a scope.
   */
  outgoing(
    node: string,
    topic: string,
    kind: MessageKind,
    operation: OutgoingMessageInfo['operation'],
  ): OutgoingScope | undefined {
    const sets = this.outgoingHooks;
    if (sets === undefined) return undefined;
    const info: OutgoingMessageInfo = { node, topic, kind, operation, internal: isInternal(topic) };
    let scopes: OutgoingScope[] | undefined;
    for (const set of sets) {
      try {
        // Called as a method: a hook set may be a class instance.
        const scope = set.outgoing!(info);
        if (scope !== undefined && scope !== null) (scopes ??= []).push(scope);
      } catch (error) {
        this.failed('outgoing', error);
      }
    }
    return scopes === undefined ? undefined : new OutgoingScopes(scopes, this.log);
  }

  /**
   * Tells the `incoming` hooks of a message received; `undefined` when none is attached or none
   * returned a scope.
   */
  incoming(
    from: string,
    topic: string,
    kind: MessageKind,
    headers: MessageHeaders | undefined,
  ): IncomingScope | undefined {
    const sets = this.incomingHooks;
    if (sets === undefined) return undefined;
    const info = { from, topic, kind, internal: isInternal(topic) };
    let scopes: IncomingScope[] | undefined;
    for (const set of sets) {
      try {
        const scope = set.incoming!(info, headers);
        if (scope !== undefined && scope !== null) (scopes ??= []).push(scope);
      } catch (error) {
        this.failed('incoming', error);
      }
    }
    return scopes === undefined ? undefined : new IncomingScopes(scopes, this.log);
  }

  private rebuild(): void {
    const sets = this.sets.map(set => set.hooks);
    const outgoing = sets.filter(set => typeof set.outgoing === 'function');
    const incoming = sets.filter(set => typeof set.incoming === 'function');
    this.outgoingHooks = outgoing.length === 0 ? undefined : outgoing;
    this.incomingHooks = incoming.length === 0 ? undefined : incoming;
  }

  private failed(hook: string, error: unknown): void {
    this.log(`instrumentation|${hook}`, MessagingMessages.instrumentationFailed(hook, error));
  }
}

/**
 * Ends a request refused before it was sent: `aborted` when its signal had fired, `refused`
 * otherwise (not connected, queue full, payload refused, too many pending); counted in `stats`.
 * @internal
 */
export function endRefused(
  stats: MessagingStats,
  scope: OutgoingScope | undefined,
  error: unknown,
): void {
  const outcome: RequestOutcome = error instanceof RequestAbortedError ? 'aborted' : 'refused';
  stats.ended(outcome);
  scope?.end(outcome, toError(error));
}

/**
 * Runs a one-way operation (a send, a broadcast) and ends its scope: `sent` once queued,
 * `refused` with the error it throws (thrown on).
 * @internal
 */
export function endOneWay<R>(scope: OutgoingScope, operation: () => R): R {
  let result: R;
  try {
    result = operation();
  } catch (error) {
    scope.end('refused', toError(error));
    throw error;
  }
  scope.end('sent');
  return result;
}

/**
 * Ends a one-way operation's scope when every receiver of the message settled, with `error` when
 * one of them failed.
 * @internal
 */
export class ReceiversSettled {
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly scope: IncomingScope,
    private remaining: number,
  ) {}

  /** One receiver answered. */
  readonly answered = (): void => this.settle();

  /** One receiver failed. */
  readonly failed = (error: unknown): void => {
    this.failure ??= { error };
    this.settle();
  };

  private settle(): void {
    if (--this.remaining > 0) return;
    if (this.failure === undefined) this.scope.end('ok');
    else this.scope.end('error', this.failure.error);
  }
}

/**
 * Ends each of `scopes` with the same outcome; one whose `end` throws is logged and the rest still
 * end. A plain function, so ending adds no allocation on the message path.
 */
function endScopes<O, E>(
  scopes: readonly { end(outcome: O, error?: E): void }[],
  outcome: O,
  error: E | undefined,
  log: InstrumentationLog,
): void {
  for (const scope of scopes) {
    try {
      scope.end(outcome, error);
    } catch (failure) {
      log('instrumentation|end', MessagingMessages.instrumentationFailed('end', failure));
    }
  }
}

/** The scopes several `outgoing` hooks returned for one message, as one. */
class OutgoingScopes implements OutgoingScope {
  readonly headers: MessageHeaders | undefined;
  private ended = false;

  constructor(
    private readonly scopes: readonly OutgoingScope[],
    private readonly log: InstrumentationLog,
  ) {
    let headers: Record<string, string> | undefined;
    for (const scope of scopes) {
      try {
        const own = scope.headers;
        // Later hooks win for a key both set.
        if (own !== undefined && own !== null) Object.assign((headers ??= {}), own);
      } catch (error) {
        log('instrumentation|headers', MessagingMessages.instrumentationFailed('headers', error));
      }
    }
    this.headers = headers;
  }

  end(outcome: RequestOutcome | 'sent', error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    endScopes(this.scopes, outcome, error, this.log);
  }
}

/** The scopes several `incoming` hooks returned for one message, as one (the first outermost). */
class IncomingScopes implements IncomingScope {
  private ended = false;

  constructor(
    private readonly scopes: readonly IncomingScope[],
    private readonly log: InstrumentationLog,
  ) {}

  run<R>(fn: () => R): R {
    return this.runFrom(0, fn);
  }

  end(outcome: 'ok' | 'error', error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    endScopes(this.scopes, outcome, error, this.log);
  }

  /**
   * Runs `fn` inside scopes `index` and on, exactly once. A scope whose `run` throws before
   * calling `fn`, or returns without calling it, is skipped (logged); what `fn` itself throws goes
   * to the caller unchanged.
   */
  private runFrom<R>(index: number, fn: () => R): R {
    if (index === this.scopes.length) return fn();
    let called = false;
    let skipped = false;
    let returned: { value: R } | undefined;
    let thrown: { error: unknown } | undefined;
    const inner = (): R => {
      // Called late (after the scope was skipped) or twice: the handler ran once already.
      if (skipped || called) {
        if (thrown !== undefined) throw thrown.error;
        return returned?.value as R;
      }
      called = true;
      try {
        returned = { value: this.runFrom(index + 1, fn) };
        return returned.value;
      } catch (error) {
        thrown = { error };
        throw error;
      }
    };
    let result: R;
    try {
      result = this.scopes[index].run(inner);
    } catch (error) {
      if (thrown !== undefined) throw thrown.error;
      this.log('instrumentation|run', MessagingMessages.instrumentationFailed('run', error));
      // The handler ran already: its result stands. It did not: it runs without this scope.
      if (returned !== undefined) return returned.value;
      skipped = true;
      return this.runFrom(index + 1, fn);
    }
    if (called) return result;
    // A `run` that returned without calling `fn` would drop the message: the handler would never
    // run, its requester would time out and the request would count as served for good.
    this.log(
      'instrumentation|run',
      MessagingMessages.instrumentationFailed('run', MessagingMessages.runSkippedHandler()),
    );
    skipped = true;
    return this.runFrom(index + 1, fn);
  }
}

function isInternal(topic: string): boolean {
  return topic.startsWith(RESERVED_TOPIC_PREFIX);
}

/**
 * Refuses what is not a set of hooks (an object whose members, when set, are functions).
 * @throws InvalidConfigError
 * @internal
 */
export function checkHooks(hooks: MessagingInstrumentation): void {
  if (
    typeof hooks !== 'object' ||
    hooks === null ||
    Array.isArray(hooks) ||
    (hooks.outgoing !== undefined && typeof hooks.outgoing !== 'function') ||
    (hooks.incoming !== undefined && typeof hooks.incoming !== 'function')
  )
    throw new InvalidConfigError(MessagingMessages.instrumentInvalid(hooks), {
      option: 'instrument',
    });
}
