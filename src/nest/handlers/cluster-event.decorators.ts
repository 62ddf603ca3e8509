import type { ClusterEvent } from '../../core/index.js';
import { GEN_CLUSTER_EVENT_METADATA } from './cluster-handler.constants.js';
import { appendMetadata, instanceMethod } from './cluster-handler.decorators.js';

/**
 * Options of the node-event decorators.
 * @publicApi
 */
export interface ClusterEventHandlerOptions {
  /** The cluster's name; the default cluster when unset. */
  readonly cluster?: string;
}

/** One node-event registration, as kept on the method. @internal */
export interface ClusterEventMetadata {
  /** The event types listened to, or `'membership'` for the membership snapshots. */
  readonly source: readonly unknown[] | 'membership';
  readonly options: ClusterEventHandlerOptions;
}

/**
 * Calls the method with each cluster event of the given type(s) (`events$` filtered), with the
 * event as its argument. Node events do not run through guards, pipes or interceptors (as
 * `@OnEvent` and `@Cron`); a listener that throws or rejects is logged and does not affect the
 * others.
 *
 * @example
 * @OnClusterEvent(['discovered', 'lost'])
 * onDiscovery(event: ClusterEvent) { ... }
 *
 * @publicApi
 */
export function OnClusterEvent(
  type: ClusterEvent['type'] | readonly ClusterEvent['type'][],
  options: ClusterEventHandlerOptions = {},
): MethodDecorator {
  const types: readonly unknown[] = Array.isArray(type) ? [...(type as unknown[])] : [type];
  return eventDecorator('OnClusterEvent', { source: types, options: { ...options } });
}

/**
 * Calls the method with each `nodeUp` event (a node connected).
 * @publicApi
 */
export function OnNodeUp(options: ClusterEventHandlerOptions = {}): MethodDecorator {
  return eventDecorator('OnNodeUp', { source: ['nodeUp'], options: { ...options } });
}

/**
 * Calls the method with each `nodeDown` event (a node went away, with the reason).
 * @publicApi
 */
export function OnNodeDown(options: ClusterEventHandlerOptions = {}): MethodDecorator {
  return eventDecorator('OnNodeDown', { source: ['nodeDown'], options: { ...options } });
}

/**
 * Calls the method with the current membership at bootstrap, then with each new snapshot (as a
 * subscription to `membership$` would).
 * @publicApi
 */
export function OnMembershipChange(options: ClusterEventHandlerOptions = {}): MethodDecorator {
  return eventDecorator('OnMembershipChange', { source: 'membership', options: { ...options } });
}

function eventDecorator(decorator: string, entry: ClusterEventMetadata): MethodDecorator {
  return (target, key, descriptor) => {
    appendMetadata(
      GEN_CLUSTER_EVENT_METADATA,
      entry,
      instanceMethod(decorator, target, key, descriptor),
    );
  };
}
