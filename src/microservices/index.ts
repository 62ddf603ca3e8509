/**
 * `@gen-cluster/nestjs/microservices`: a transport for `@nestjs/microservices` over the cluster
 * (existing `@MessagePattern` / `@EventPattern` controllers served by the mesh) and a
 * `ClientProxy` that calls whichever member serves a pattern. `@nestjs/microservices` is an
 * optional peer dependency: only this entry point needs it.
 */
export { GenClusterContext } from './gen-cluster.context.js';
export {
  type CreateGenClusterTransportOptions,
  GEN_CLUSTER_TRANSPORT,
  GenClusterTransport,
  type GenClusterTransportOptions,
  createGenClusterTransport,
} from './gen-cluster.transport.js';
export { type GenClusterClientOptions, GenClusterClientProxy } from './gen-cluster.client-proxy.js';
export {
  type GenClusterClientRegistration,
  GenClusterClientsModule,
} from './gen-cluster-clients.module.js';
export { KeyedPattern, PATTERN_TOPIC_PREFIX, patternTopic, withKey } from './pattern-topic.js';
export {
  type AnswerEnvelope,
  DEFAULT_MAX_STREAM_VALUES,
  MAX_STREAM_ANSWER_BYTES,
} from './stream-answer.js';
