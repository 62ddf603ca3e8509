/**
 * The public API of `@gen-cluster/nestjs`, by name. Nothing else is public: a name missing here is
 * an internal of the package, free to change in any release. Subpath entries: `./testing` (test
 * helpers), `./portmapper` (the EPMD-protocol port mapper on its own), `./microservices` (the
 * Nest microservices transport and client; needs `@nestjs/microservices`), `./terminus` (health
 * indicator; needs `@nestjs/terminus`), `./metrics` (Prometheus; needs `prom-client`), `./otel`
 * (tracing; needs `@opentelemetry/api`), `./etcd` (the etcd discovery class; `{ strategy: 'etcd' }`
 * here loads it lazily), `./nats` (the NATS dist and discovery classes; `{ strategy: 'nats' }` here
 * builds them, and they load `@nats-io/transport-node` at start). This entry names none of those
 * optional packages.
 */

// --- Nest module and service -------------------------------------------------------------------
export {
  type ClusterHealth,
  type ClusterMetricsSettings,
  ClusterService,
  DEFAULT_CLUSTER_NAME,
  GenClusterModule,
  type GenClusterModuleAsyncOptions,
  type GenClusterModuleExtras,
  type GenClusterModuleForRootOptions,
  type GenClusterModuleOptions,
  type GenClusterOptionsFactory,
  InjectCluster,
  type MetricsRegistryLike,
  type StrategyOption,
  getClusterToken,
} from './nest/index.js';

// --- Nest handlers: decorators, parameters, the execution context type ---------------------------
export {
  ClusterContext,
  type ClusterEventHandlerOptions,
  type ClusterEventRequest,
  ClusterHandler,
  type ClusterHandlerOptions,
  ClusterPayload,
  type ClusterRequest,
  GEN_CLUSTER_CONTEXT_TYPE,
  type GenClusterContextType,
  OnClusterEvent,
  OnClusterMessage,
  OnMembershipChange,
  OnNodeDown,
  OnNodeUp,
  Payload,
} from './nest/index.js';

// --- Leadership, singletons, process groups, quorum ----------------------------------------------
export {
  type ClusterLeadership,
  ClusterSingleton,
  type ClusterSingletonOptions,
  type OnSingletonStart,
  type OnSingletonStop,
} from './nest/index.js';
export {
  type GroupsChange,
  type Leadership,
  type LeadershipOptions,
  type NotLeaderReason,
  type ProcessGroups,
  type PublishResult,
  type SingletonContext,
  type SingletonHooks,
  type SingletonRegistration,
} from './primitives/index.js';
export type { QuorumChangedEvent, QuorumOptions, QuorumState } from './core/index.js';
export type { FormationOptions, WaitForFormationOptions } from './core/index.js';
export {
  type HandlerResult,
  type ParameterDoesNotAcceptPayload,
  RemoteHttpException,
  type TypedHandlerDecorator,
  type TypedMessageHandler,
  type TypedSubscriberDecorator,
} from './nest/index.js';

// --- Engine without Nest -----------------------------------------------------------------------
export {
  type BuiltInDiscoveryOptions,
  type BuiltInDistOptions,
  type ClusterLogFormat,
  type ClusterLogLevel,
  type ClusterOptions,
  type CreateClusterOptions,
  type DiscoveryShortForm,
  createCluster,
} from './config/index.js';
export {
  type BackoffOptions,
  type ClusterLogger,
  type ClusterState,
  DEFAULT_GEN_CLUSTER_OPTIONS,
  GenCluster,
  type GenClusterOptions,
  type RemovalPolicy,
  type SchedulerOptions,
} from './core/index.js';

// --- Strategy contracts (for custom strategies) ------------------------------------------------
export {
  type ClusterMessaging,
  type DiscoveryContext,
  type DiscoveryStrategy,
  type DistContext,
  type DistStrategy,
  type LinkAdmission,
  type MessageHandler,
  type MessagingDistStrategy,
  type Peer,
  type RequestOptions,
  hasMessaging,
} from './core/index.js';
export {
  type BroadcastOptions,
  type LocalTopicsView,
  type RegistryMessaging,
  type ServedKind,
  type ServedTopic,
  type ServedTopicChange,
  hasRegistrySupport,
} from './core/index.js';

// --- Services across the cluster: the service registry and call() ------------------------------
export {
  type CallAttempt,
  type CallOptions,
  type DrainOptions,
  type DrainResult,
  type OwnerOptions,
  type RetryOn,
  type Selection,
  ServiceCaller,
  type ServiceCallerOptions,
  type ServiceEntry,
  type ServiceKey,
  ServiceRegistry,
  type ServiceRegistryOptions,
  type ServicesChange,
  type ServicesChangeReason,
  type ServiceTopic,
  type WaitForServersOptions,
} from './primitives/index.js';

// --- Messaging: handler context, calls to every member, typed topics ---------------------------
export {
  type MessageContext,
  type MessageKind,
  type RequestAllOptions,
  type RequestAllResult,
} from './core/index.js';
export {
  RESERVED_TOPIC_PREFIX,
  type Topic,
  type TopicLike,
  type TopicRequest,
  type TopicResponse,
  defineTopic,
} from './distribution/index.js';

// --- Built-in discovery strategies ---------------------------------------------------------------
export {
  AggregateDiscovery,
  type AggregateDiscoveryOptions,
  DNS_DISCOVERY_DEFAULTS,
  DnsDiscovery,
  type DnsDiscoveryOptions,
  type DnsServerAddress,
  type EtcdDiscoveryOptions,
  GOSSIP_DISCOVERY_DEFAULTS,
  GossipDiscovery,
  type GossipDiscoveryOptions,
  type GossipStats,
  HOSTS_DISCOVERY_DEFAULTS,
  HostsFileDiscovery,
  type HostsFileDiscoveryOptions,
  KUBERNETES_DISCOVERY_DEFAULTS,
  KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
  LocalDiscovery,
  type LocalDiscoveryOptions,
  StaticDiscovery,
  type StaticDiscoveryOptions,
} from './discovery/index.js';

// --- Built-in dist: the TCP mesh, and the payload codecs of messaging ---------------------------
export {
  DEFAULT_TCP_DIST_OPTIONS,
  type PayloadCodec,
  type PayloadCodecKind,
  TcpDist,
  type TcpDistOptions,
  type TlsMinVersion,
  type TlsOptions,
} from './distribution/index.js';

// --- Operations: health, instrumentation hooks, counters, system topics ------------------------
export {
  type ClusterHealthSnapshot,
  type DistHealth,
  type DistStats,
  type HealthDownReason,
  type HealthVerdict,
  type IncomingMessageInfo,
  type IncomingScope,
  type LinkStats,
  type MessageHeaders,
  type MessagingInstrumentation,
  type MessagingStatsSnapshot,
  type OutgoingMessageInfo,
  type OutgoingScope,
  type ReadinessOptions,
  type RequestOutcome,
  type ShutdownPhase,
  VERSION,
  evaluateLiveness,
  evaluateReadiness,
} from './core/index.js';
export {
  type ClusterOverview,
  type NodeOverview,
  type RecordedEvent,
  SYSTEM_TOPICS,
  type SystemClient,
  type SystemCluster,
  type SystemEventsPage,
  type SystemInfo,
  SystemService,
  type SystemServiceOptions,
  createSystemClient,
} from './primitives/index.js';

// --- Events ------------------------------------------------------------------------------------
export type {
  ClusterEvent,
  ConnectFailedEvent,
  DiscoveredEvent,
  DiscoveryErrorEvent,
  DistConnectedEvent,
  DistDisconnectedEvent,
  LostEvent,
  Membership,
  NodeDownEvent,
  NodeDownReason,
  NodeUpEvent,
} from './core/index.js';

// --- Errors ------------------------------------------------------------------------------------
export type { GenClusterErrorCode } from './error-codes.js';
export {
  ConnectError,
  DiscoveryError,
  FormationTimeoutError,
  GenClusterError,
  InvalidConfigError,
  InvalidNodeNameError,
  OptionalPackageMissingError,
} from './core/index.js';
export { GossipSocketError, KubeRequestError } from './discovery/index.js';
export {
  DuplicateHandlerError,
  EnvelopeError,
  FrameError,
  HandshakeError,
  type HandshakeFailureReason,
  InvalidTopicError,
  MessageTooLargeError,
  MessagingClosedError,
  NodeDownError,
  PayloadError,
  ProtocolError,
  QueueFullError,
  RemoteError,
  type RemoteFailure,
  RequestAbortedError,
  RequestTimeoutError,
  TlsError,
  type TlsFailureReason,
  TooManyRequestsError,
  isRemoteError,
} from './distribution/index.js';
export { PortMapperError } from './portmapper/index.js';
export {
  NoServerError,
  type NoServerDetails,
  RegistryEntryError,
  SingletonExistsError,
  type SingletonExistsDetails,
} from './primitives/index.js';
