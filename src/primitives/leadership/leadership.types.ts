/**
 * The public shapes of leadership and singletons. The rule: the leader is the eligible member
 * with the earliest start time, ties broken by name; there is no consensus (docs/primitives.md).
 */

/** What a singleton's hooks are given. */
export interface SingletonContext {
  /** The singleton's name. */
  readonly name: string;
  /**
   * The leadership term this run started under: a fencing token that only grows along agreed
   * views (pass it to the store and refuse writes with a lower one).
   */
  readonly term: number;
  /** Aborted when this run must stop (leadership moved, quorum lost, a freeze, shutdown). */
  readonly signal: AbortSignal;
  /** Whether this node still leads now (checks for a freeze synchronously); use it per iteration. */
  isLeader(): boolean;
}

/** The hooks of an imperative singleton (`singleton(name, hooks)`). */
export interface SingletonHooks {
  /** Runs when this node becomes the leader (or registers while leading). */
  start(context: SingletonContext): void | Promise<void>;
  /** Runs when leadership moves away, quorum is lost, a freeze is detected, or on shutdown. */
  stop?(context: SingletonContext): void | Promise<void>;
}

/** Returned by `singleton()`: unregisters it (stopping it first when it runs here). */
export interface SingletonRegistration {
  /** The singleton's name. */
  readonly name: string;
  /** Whether its `start` has run here and its `stop` has not. */
  readonly running: boolean;
  /** Stops it if it runs here, then forgets it. Idempotent. */
  unregister(): Promise<void>;
}

/** Timings and bounds of leadership; every field has a default derived from the dist. */
export interface LeadershipOptions {
  /**
   * A gap in this node's own timers longer than this is a freeze (SIGSTOP, a blocked event loop,
   * a VM pause): leadership is suspended until membership settles again. Default: half the dist's
   * failure timeout (2.5 s on TCP), so any freeze long enough for peers to declare this node down
   * is seen here.
   */
  readonly freezeToleranceMs?: number;
  /**
   * After start and after a freeze, how long membership must stay still (every discovered and
   * every previous member connected) before this node may lead (500 ms).
   */
  readonly settleMs?: number;
  /** How long a stop hook may run when leadership moves or on shutdown (10 s). */
  readonly stopTimeoutMs?: number;
}

/** Why this node does not lead now, when it does not. */
export type NotLeaderReason =
  'otherLeader' | 'settling' | 'frozen' | 'noQuorum' | 'leaving' | 'notStarted';
