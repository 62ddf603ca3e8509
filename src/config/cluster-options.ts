import type {
  BackoffOptions,
  DiscoveryStrategy,
  DistStrategy,
  FormationOptions,
  QuorumOptions,
  SchedulerOptions,
} from '../core/index.js';
import type { BuiltInDiscoveryOptions as MeshDiscoveryOptions } from '../discovery/index.js';
import type { TcpBuiltInDistOptions } from '../distribution/index.js';
import type { NatsDiscoveryOptions, NatsDistOptions } from '../nats/index.js';

/**
 * Options of the built-in dists, by `strategy` name: the TCP mesh (`{ strategy: 'tcp' }`, the
 * default) and the NATS dist (`{ strategy: 'nats', servers: ['nats://10.0.0.1:4222'] }`).
 */
export type BuiltInDistOptions =
  TcpBuiltInDistOptions | (NatsDistOptions & { readonly strategy: 'nats' });

/**
 * Options of the built-in discovery strategies, by `strategy` name: those of the discovery layer,
 * and the NATS discovery (`{ strategy: 'nats', servers: [...] }`: members found through NATS,
 * connected by the TCP mesh).
 */
export type BuiltInDiscoveryOptions =
  MeshDiscoveryOptions | (NatsDiscoveryOptions & { readonly strategy: 'nats' });

/** The levels of the cluster's logger, least to most verbose (Nest's names). */
export const CLUSTER_LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
/** How much the cluster logs: this level and the ones before it in {@link CLUSTER_LOG_LEVELS}. */
export type ClusterLogLevel = (typeof CLUSTER_LOG_LEVELS)[number];
/** `'text'`: Nest's logger; `'json'`: one JSON object per line, for log aggregators. */
export type ClusterLogFormat = 'text' | 'json';

/**
 * A discovery written as a `GEN_CLUSTER_DISCOVERY` short form, e.g. `'local'`,
 * `'static:a@10.0.0.1,b@10.0.0.2'`, `'dns:my-svc.my-ns'`, `'dns+srv:_dist._tcp.my-svc.my-ns'`,
 * `'kubernetes:my-svc'`, `'gossip'`, `'gossip:239.255.43.69:45892'`, `'hosts:/etc/gc.hosts'`,
 * `'etcd:http://10.0.0.1:2379/gen-cluster'`, `'nats://10.0.0.1:4222'` (the NATS discovery;
 * `tls://` for TLS), or several joined by `|` (an aggregate: `'hosts:/etc/gc.hosts|gossip'`).
 */
export type DiscoveryShortForm =
  | 'local'
  | `local:${string}`
  | `static:${string}`
  | `dns:${string}`
  | `dns+srv:${string}`
  | `kubernetes:${string}`
  | `k8s:${string}`
  | 'gossip'
  | `gossip:${string}`
  | `hosts:${string}`
  | `etcd:${string}`
  | `nats://${string}`
  | `tls://${string}`
  | `${string}|${string}`;

/**
 * Options of one cluster, without any framework: what `createCluster()` takes, and the base of
 * `GenClusterModule.forRoot()`'s options. Every field is optional; the environment
 * (`GEN_CLUSTER_*`) fills what is left out unless `useEnv` is `false`.
 */
export interface ClusterOptions extends Partial<Omit<SchedulerOptions, 'backoff'>> {
  /**
   * This node's name, `name@host`; `GEN_CLUSTER_NODE`, else `node-<pid>@<hostname>`
   * (`node-<pid>@127.0.0.1` for a zero-configuration node: `local` discovery of this host only).
   */
  readonly node?: string;
  /**
   * Who the peers are: a built-in strategy's options (`{ strategy: 'dns', domain: '...' }`), the
   * same as a short form (`'dns:my-svc.my-ns'`), or a strategy instance. `GEN_CLUSTER_DISCOVERY`
   * when unset; without either, no cluster runs, unless the dist finds its peers itself (the
   * NATS dist: then it is the discovery).
   */
  readonly discovery?: BuiltInDiscoveryOptions | DiscoveryShortForm | DiscoveryStrategy;
  /**
   * How to connect: built-in options or a dist instance. `GEN_CLUSTER_DIST` when unset (`tcp`, or
   * NATS URLs for `{ strategy: 'nats', servers }`), else the TCP mesh (`{ strategy: 'tcp' }`).
   */
  readonly dist?: BuiltInDistOptions | DistStrategy;
  /**
   * The cluster's namespace: nodes of different namespaces never join, even with the same cookie
   * on the same host (checked in the handshake and by the port mapper). `GEN_CLUSTER_NAMESPACE`,
   * else `'default'`.
   */
  readonly namespace?: string;
  /** The cluster logger's level; `GEN_CLUSTER_LOG_LEVEL`, else `'log'`. */
  readonly logLevel?: ClusterLogLevel;
  /** The cluster logger's format; `GEN_CLUSTER_LOG_FORMAT`, else `'text'`. */
  readonly logFormat?: ClusterLogFormat;
  /** Per-node reconnect backoff; unset fields keep their defaults. */
  readonly backoff?: Partial<BackoffOptions>;
  /**
   * A quorum rule (none when unset): membership snapshots carry `quorum`, `quorumChanged` events
   * are emitted, and leadership runs only on a side with quorum. `{ expectedSize: 5 }` (the whole
   * cluster, this node included; `stableMs`, 3 s, is how long a majority must hold before a lost
   * quorum counts as regained), or `{ expectedSize: 'discovered', unsafe: true }`.
   * `GEN_CLUSTER_EXPECTED_SIZE` (`5` or `discovered-unsafe`) and `GEN_CLUSTER_QUORUM_STABLE_MS`
   * when unset; explicit fields win over the environment's field by field.
   */
  readonly quorum?: QuorumOptions;
  /**
   * A formation gate (none when unset): the cluster counts as formed once `minMembers` peers are
   * connected and the discovered set has not changed for `stableMarginMs`; readiness then waits
   * for it. `GEN_CLUSTER_FORMATION_STABLE_MS` (with `GEN_CLUSTER_MIN_MEMBERS`, else 0) when unset;
   * explicit fields win over the environment's field by field.
   */
  readonly formation?: FormationOptions;
  /**
   * Whether `GEN_CLUSTER_*` variables fill the fields left out (default `true`). Explicit options
   * win; built-in strategy options of the same strategy are merged field by field.
   */
  readonly useEnv?: boolean;
}
