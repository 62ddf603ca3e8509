/**
 * The service registry's public face: which nodes serve which topic. CONTRACT SKELETON (issue 14,
 * phase 0): the signatures are final; the registry engineer replaces the bodies.
 */
import { type Observable, NEVER } from 'rxjs';
import type { ClusterControl, ClusterLogger, RegistryMessaging } from '../../core/index.js';
import type {
  DrainOptions,
  DrainResult,
  OwnerOptions,
  ServiceEntry,
  ServiceKey,
  ServicesChange,
  ServiceTopic,
  WaitForServersOptions,
} from '../primitives.types.js';

/** Timings of the registry's protocol; tests shorten them. */
export interface RegistryTimings {
  /** How long a hello waits for its answer (2 s). */
  readonly helloTimeoutMs: number;
  /** The first hello retry delay (250 ms), doubling up to {@link helloRetryMaxMs}. */
  readonly helloRetryMs: number;
  /** The longest hello retry delay (5 s). */
  readonly helloRetryMaxMs: number;
  /** After this long without news of a suppressed entry, its node is asked again (2 s). */
  readonly suppressedHealMs: number;
}

/** Options of a {@link ServiceRegistry}. */
export interface ServiceRegistryOptions {
  /** The cluster whose members are asked (its `nodeUp`/`nodeDown` events drive the registry). */
  readonly cluster: Pick<ClusterControl, 'self' | 'events$' | 'nodes'>;
  /** The messaging layer: its internal topics carry the registry, its local topics are announced. */
  readonly messaging: RegistryMessaging;
  /** Where the registry logs; silent when unset. */
  readonly logger?: ClusterLogger;
  /** @internal tests shorten them */
  readonly timings?: Partial<RegistryTimings>;
}

/**
 * Which connected nodes serve which topic. Each node announces its own request handlers and
 * subscribers to its peers (a table when a peer comes up, then small deltas), and keeps theirs;
 * a node that goes down leaves every set in the same delivery as its `nodeDown` event.
 */
export class ServiceRegistry {
  constructor(private readonly options: ServiceRegistryOptions) {}

  /** Nodes (this one included) with a request handler of `topic`, sorted; `[]` when none. */
  servers(topic: ServiceTopic): string[] {
    void topic;
    throw new Error('not implemented');
  }

  /** Nodes (this one included) with subscribers of `topic`, sorted; `[]` when none. */
  subscribers(topic: ServiceTopic): string[] {
    void topic;
    throw new Error('not implemented');
  }

  /** Every served topic with its servers and subscribers (internal topics left out). */
  services(): ReadonlyMap<string, ServiceEntry> {
    throw new Error('not implemented');
  }

  /** Each change, once the registry reflects it. */
  get services$(): Observable<ServicesChange> {
    return NEVER;
  }

  /** `servers(topic)` now, then on each change of it. */
  servers$(topic: ServiceTopic): Observable<readonly string[]> {
    void topic;
    return NEVER;
  }

  /** Resolves with the servers once `count` (default 1) nodes serve `topic`. */
  waitForServers(topic: ServiceTopic, options?: WaitForServersOptions): Promise<string[]> {
    void topic;
    void options;
    return Promise.reject(new Error('not implemented'));
  }

  /** The owner of `key` among every member and this node, or among `servers(topic)`. */
  ownerOf(key: ServiceKey, options?: OwnerOptions): string | undefined {
    void key;
    void options;
    throw new Error('not implemented');
  }

  /** The first `count` owners of `key` in rank order (replicas). */
  ownersOf(key: ServiceKey, count: number, options?: OwnerOptions): string[] {
    void key;
    void count;
    void options;
    throw new Error('not implemented');
  }

  /**
   * Stops routing to `node` for `topic` until that node next says something of the topic (it
   * answered ERR_NO_HANDLER: the entry is stale). Used by `call`.
   * @internal
   */
  suppress(node: string, topic: string): void {
    void node;
    void topic;
  }

  /** Withdraws this node's topics, waits for acknowledgements and for requests in flight. */
  drain(options?: DrainOptions): Promise<DrainResult> {
    void options;
    return Promise.reject(new Error('not implemented'));
  }

  /** Stops the registry (timers, subscriptions, internal handlers). */
  close(): void {
    void this.options;
  }
}
