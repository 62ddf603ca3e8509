/**
 * `call`: a request to whichever node serves a topic. CONTRACT SKELETON (issue 14, phase 0): the
 * signatures are final; the calls engineer replaces the bodies.
 */
import type { ClusterMessaging } from '../../core/index.js';
import type { CallOptions, ServiceTopic } from '../primitives.types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';

/** Options of a {@link ServiceCaller}. */
export interface ServiceCallerOptions {
  /** The random source of `'random'` selection (tests inject one); `Math.random` by default. */
  readonly random?: () => number;
}

/** Sends requests to a node chosen among those serving the topic, with optional retries. */
export class ServiceCaller {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly messaging: ClusterMessaging,
    private readonly options: ServiceCallerOptions = {},
  ) {}

  /** Asks a node that serves `topic`; see {@link CallOptions}. */
  call<T = unknown>(topic: ServiceTopic, payload: unknown, options?: CallOptions): Promise<T> {
    void topic;
    void payload;
    void options;
    void this.registry;
    void this.messaging;
    void this.options;
    return Promise.reject(new Error('not implemented'));
  }
}
