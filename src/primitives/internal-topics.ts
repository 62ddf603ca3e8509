/**
 * Registration of the primitives' internal (`$gc.`) topics. Core's `ClusterMessaging.on` has no
 * options; gen-cluster's messaging takes `{ internal: true }` to admit the reserved prefix, so the
 * registry, the system topics and leadership register through this one cast.
 */
import type { ClusterMessaging, MessageHandler } from '../core/index.js';
import type { HandlerRegistrationOptions } from '../distribution/index.js';

/** `on` with the registration options of gen-cluster's messaging. */
type OnWithOptions = (
  topic: string,
  handler: MessageHandler,
  options: HandlerRegistrationOptions,
) => () => void;

/** Registers `handler` on the internal topic `topic`; returns the function that removes it. */
export function onInternal(
  messaging: ClusterMessaging,
  topic: string,
  handler: MessageHandler,
): () => void {
  return (messaging.on.bind(messaging) as OnWithOptions)(topic, handler, { internal: true });
}
