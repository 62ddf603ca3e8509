import { Injectable, Logger } from '@nestjs/common';
import { ContextIdFactory } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { type ClusterEvent, InvalidConfigError } from '../../core/index.js';
import type { ClusterService } from '../cluster.service.js';
import { NestMessages } from '../gen-cluster.messages.js';
import { resolveScoped } from './cluster-context.creator.js';
import type { ClusterEventRequest } from './cluster-request.interface.js';
import { type Host, clusterOf } from './cluster-hosts.js';

/**
 * Every `ClusterEvent['type']`, to refuse a misspelt one at bootstrap: the keys of a record over
 * the union, so the compiler reports a type added to `ClusterEvent` and missing here (and one here
 * that is no event type).
 */
const EVENT_TYPE_SET = {
  nodeUp: true,
  nodeDown: true,
  discovered: true,
  lost: true,
  discoveryError: true,
  connectFailed: true,
  quorumChanged: true,
  distDisconnected: true,
  distConnected: true,
} as const satisfies Record<ClusterEvent['type'], true>;
const EVENT_TYPES: readonly string[] = Object.keys(EVENT_TYPE_SET);

/** One node-event registration found by the explorer. @internal */
export interface EventRegistration {
  readonly host: Host;
  readonly key: string;
  readonly where: string;
  /** Event types, or `'membership'` for the snapshots. */
  readonly source: readonly unknown[] | 'membership';
  readonly cluster: unknown;
}

/**
 * Subscribes node-event methods (`@OnNodeUp()` and the others) to a cluster's `events$` or
 * `membership$`. They run outside Nest's pipeline, as `@OnEvent` and `@Cron` listeners do (an
 * application's HTTP guard must not block them); each call is isolated, and what it throws or
 * rejects with is logged with the method and the event.
 * @internal
 */
@Injectable()
export class ClusterEventListeners {
  /** Throws for an unknown cluster or event type, naming the method. */
  validate(
    events: readonly EventRegistration[],
    clusters: ReadonlyMap<string, ClusterService>,
  ): void {
    for (const { where, source, cluster } of events) {
      clusterOf(cluster, where, clusters);
      if (source === 'membership') continue;
      const unknown = source.find(type => !EVENT_TYPES.includes(type as string));
      if (unknown !== undefined || source.length === 0)
        throw new InvalidConfigError(NestMessages.unknownEventType(where, unknown, EVENT_TYPES));
    }
  }

  /** Starts calling the method; returns what stops it. */
  listen(
    registration: EventRegistration,
    clusters: ReadonlyMap<string, ClusterService>,
  ): () => void {
    const { source, where } = registration;
    const cluster = clusterOf(registration.cluster, where, clusters);
    const logger = new Logger(`GenCluster:${cluster.name}`);
    const call = this.caller(registration, logger);
    const subscription =
      source === 'membership'
        ? cluster.membership$.subscribe(snapshot => call(snapshot, 'membership'))
        : (cluster.events$ as Observable<{ type: string }>).subscribe(event => {
            if (source.includes(event.type)) call(event, event.type);
          });
    return () => subscription.unsubscribe();
  }

  private caller(
    { host, key, where }: EventRegistration,
    logger: Logger,
  ): (event: unknown, type: string) => void {
    const failed = (type: string) => (error: unknown) => {
      try {
        logger.error(
          NestMessages.eventListenerFailed(where, type, error),
          error instanceof Error ? error.stack : undefined,
        );
      } catch {
        // A failing logger must not turn a listener's error into an uncaught exception.
      }
    };
    const { instance, scoped } = host;
    if (scoped === undefined) {
      const target = instance as Record<string, (event: unknown) => unknown>;
      return (event, type) => {
        try {
          const result = target[key](event);
          if (isThenable(result)) result.then(undefined, failed(type));
        } catch (error) {
          failed(type)(error);
        }
      };
    }
    return (event, type) => {
      const request: ClusterEventRequest = { event };
      resolveScoped(scoped, request, ContextIdFactory.getByRequest(request))
        .then(resolved => (resolved as Record<string, (event: unknown) => unknown>)[key](event))
        .then(undefined, failed(type));
    };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
