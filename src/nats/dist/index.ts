/**
 * The NATS dist: membership by presence over NATS, messaging over per-start inbox subjects.
 */
export { NatsDist } from './nats.dist.js';
export {
  NATS_DIST_DEFAULTS,
  type NatsDistOptions,
  type NatsMessageAuth,
  resolveNatsDistSettings,
} from './nats-dist-options.js';
export type { NatsClientStats, NatsDistCounters, NatsDistStats } from './nats-dist-stats.js';
