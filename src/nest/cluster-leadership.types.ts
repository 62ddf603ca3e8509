import type { Observable } from 'rxjs';
import type {
  NotLeaderReason,
  SingletonHooks,
  SingletonRegistration,
} from '../primitives/index.js';

/**
 * A cluster's leadership as `ClusterService.leadership` shows it: who leads, why this node does
 * not, the term, singletons and a planned handover. Starting and closing it are the module's job
 * (they follow the application's lifecycle), so they are not part of this view.
 *
 * The leader is the eligible member started first (ties broken by name); every node computes it
 * from its own view, there is no consensus (docs/primitives.md).
 *
 * @publicApi
 */
export interface ClusterLeadership {
  /** The current leader (`name@host`, or `undefined` while there is none) at once, then each change. */
  readonly leader$: Observable<string | undefined>;
  /** The leader as this node sees it now, or `undefined` while there is none (see {@link whyNot}). */
  leader(): string | undefined;
  /** Whether this node leads now; checks for a freeze first, synchronously. */
  isLeader(): boolean;
  /** Why this node does not lead now; `undefined` when it does. */
  whyNot(): NotLeaderReason | undefined;
  /**
   * The current leader's term, a fencing token that grows with each new leader; 0 when unknown
   * or when there is no leader.
   */
  readonly term: number;
  /**
   * Registers a singleton: `hooks.start` runs whenever this node leads, `hooks.stop` when it stops
   * leading or on shutdown. Throws `SingletonExistsError` (`ERR_SINGLETON_EXISTS`) for a name
   * registered on this node already.
   */
  singleton(name: string, hooks: SingletonHooks): SingletonRegistration;
  /**
   * A planned handover: this node stops leading at once, stops its singletons (awaiting their
   * stop hooks, at most `stopTimeoutMs`), then tells every member, which treat it as ineligible
   * until it goes down; nothing starts here again. The module calls it on shutdown; a second
   * call returns the first.
   */
  abdicate(): Promise<void>;
}
