import { describeValue } from '../core/index.js';

/** User-facing texts of the Nest layer. */
export const NestMessages = {
  duplicateCluster: (name: string) =>
    `GenClusterModule: a cluster named "${name}" is already registered in this application. Give each GenClusterModule.forRoot/forRootAsync a distinct "name".`,
  badStrategy: (kind: 'discovery' | 'dist', value: unknown) =>
    `Invalid ${kind} option: ${describeValue(value)}. Give a built-in strategy as { strategy: "<name>", ... }, a class, an instance, or a provider token.`,
  noSuchProvider: (kind: 'discovery' | 'dist', token: string | symbol) =>
    `Invalid ${kind} option ${String(token)}: no provider has this token${kind === 'discovery' ? ', and it is not a discovery short form ("static:a@h1,b@h2", "dns:svc.ns", "dns+srv:_dist._tcp.svc.ns", "local", "local:h1,h2", "kubernetes:svc")' : ''}. A custom strategy given as a token must be a provider visible to GenClusterModule (register it with isGlobal, or give it through forRootAsync({ imports, ... })).`,
  duplicateNode: (node: string, first: string, second: string) =>
    `GenClusterModule: clusters "${first}" and "${second}" both use the node name ${node}. Each cluster of an application is its own node: give each its own "node" (name@host).`,
  duplicatePort: (port: number, first: string, second: string) =>
    `GenClusterModule: clusters "${first}" and "${second}" both use dist port ${port}. Each cluster of an application is its own node: give each its own "dist: { port }" (GEN_CLUSTER_PORT can serve only one of them).`,
  notConfigured: (name: string) =>
    `Cluster "${name}" is not running: no discovery is configured, so there is no peer to reach. Set the "discovery" option of GenClusterModule.forRoot() (e.g. { strategy: "local" }) or GEN_CLUSTER_DISCOVERY (e.g. "local" or "dns:my-svc.my-ns"), or use a dist that finds its peers itself: the NATS dist (GEN_CLUSTER_DIST=nats://host:4222 or dist: { strategy: "nats", servers: [...] }), or a custom dist with a discovery() method.`,
  noCluster: (name: string) => `No discovery configured; cluster "${name}" is not started.`,
  noMessaging: (dist: string) => `The dist "${dist}" does not carry messages.`,
  noRegistry: (dist: string, cluster: string) =>
    `Cluster "${cluster}" has no service registry: the dist "${dist}" does not carry messages, or its messaging does not report its local topics (localTopics), so servers(), call() and ownerOf() with a topic cannot work. Use the built-in TCP dist, or give the custom dist's messaging a localTopics view.`,
  drainFailed: (cluster: string, error: unknown) =>
    `Cluster "${cluster}": the drain before leaving failed, leaving now: ${error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error)}`,
  badDrain: (cluster: string, value: unknown) =>
    `GenClusterModule (cluster "${cluster}"): "drain" must be false or { timeoutMs?, ackTimeoutMs? }; received ${describeValue(value)}.`,
  badMetrics: (cluster: string, value: unknown) =>
    `GenClusterModule (cluster "${cluster}"): "metrics" must be true, false or a prom-client Registry; received ${describeValue(value)}.`,
  badBuckets: (cluster: string, value: unknown) =>
    `GenClusterModule (cluster "${cluster}"): "metricsOptions.buckets" must be a non-empty array of finite numbers above 0, ascending; received ${describeValue(value)}.`,
  noInstrument: (cluster: string) =>
    `Cluster "${cluster}": its dist's messaging takes no instrumentation hooks (instrument()); use the built-in TCP dist, or give the custom dist's messaging an instrument().`,
  noSystem: (cluster: string) =>
    `Cluster "${cluster}" serves no system topics: no discovery is configured, or its dist does not carry messages.`,
  badName: (name: unknown) =>
    `GenClusterModule: "name" must be a non-empty string; received ${describeValue(name)}.`,

  // Handler decorators and their explorer: `where` is `Class.method`.
  decoratorNotOnMethod: (decorator: string, where: string) =>
    `@${decorator}() on ${where}: put it on an instance method (not a static method, a getter or a setter); cluster messages are delivered to provider and controller instances.`,
  duplicateRequestHandler: (topic: string, cluster: string, first: string, second: string) =>
    `Topic "${topic}" of cluster "${cluster}" has two request handlers: ${first} and ${second}. A node has one request handler per topic; use @OnClusterMessage for more receivers of one-way messages.`,
  conflictWithOn: (topic: string, cluster: string, where: string) =>
    `Topic "${topic}" of cluster "${cluster}" has two request handlers: ${where} and a handler registered with ClusterService.on(). A node has one request handler per topic; use @OnClusterMessage or ClusterService.subscribe() for more receivers of one-way messages.`,
  handlerAndSubscriber: (topic: string, cluster: string, where: string) =>
    `${where} is both @ClusterHandler and @OnClusterMessage of topic "${topic}" of cluster "${cluster}": a one-way message would run it twice. Keep one of the two.`,
  unknownCluster: (where: string, cluster: unknown, configured: readonly string[]) =>
    `${where} names cluster ${describeValue(cluster)}, which is not configured. Configured clusters: ${configured.length === 0 ? 'none (import GenClusterModule.forRoot())' : configured.map(name => `"${name}"`).join(', ')}.`,
  handlerTopicInvalid: (where: string, why: string) => `${where}: ${why}`,
  unknownEventType: (where: string, type: unknown, accepted: readonly string[]) =>
    `${where} listens to cluster event type ${describeValue(type)}, which does not exist. Event types: ${accepted.join(', ')}.`,
  noSubscribe: (where: string, topic: string, cluster: string) =>
    `${where} subscribes to "${topic}" of cluster "${cluster}", but that cluster's dist has no subscribers (its messaging lacks subscribe()).`,
  noMessagingFor: (where: string, topic: string, cluster: string) =>
    `${where} handles "${topic}" of cluster "${cluster}", but that cluster's dist does not carry messages.`,
  pipesWithoutPayload: (where: string, topic: string) =>
    `${where} handles "${topic}" with pipes but no @Payload() parameter: Nest runs pipes only on decorated parameters, so the payload is not validated. Add @Payload() to the parameter.`,
  eventListenerFailed: (where: string, event: string, error: unknown) =>
    `${where} failed on cluster event "${event}": ${error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error)}`,

  // @ClusterSingleton and its explorer: `where` is the class, or `Class.method`.
  badSingletonOptions: (value: string) =>
    `@ClusterSingleton() takes a name (a non-empty string) or { name?, cluster? } with non-empty strings; received ${value}.`,
  singletonScoped: (where: string) =>
    `@ClusterSingleton() on ${where}: the provider is request-scoped or transient (or depends on one), so there is no one instance for the leader to start, stop or call. Make it a default-scope (singleton) provider.`,
  singletonWithoutStart: (where: string) =>
    `@ClusterSingleton() on class ${where}: the class has no onSingletonStart(context) method. Implement OnSingletonStart (and OnSingletonStop to clean up), or put the decorator on a method to gate it.`,
  duplicateSingleton: (name: string, cluster: string, first: string, second: string) =>
    `Singleton "${name}" of cluster "${cluster}" is declared twice: by ${first} and by ${second}. Give each @ClusterSingleton() its own name.`,
  singletonSkipped: (name: string, self: string, reason: string | undefined) =>
    `singleton ${name} skipped on ${self}: ${reason ?? 'not the leader'}`,
} as const;
