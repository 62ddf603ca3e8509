/**
 * The planned handover's message (D7): a node that abdicates tells each member on the internal
 * one-way topic `$gc.lead.abdicate` (never announced, never in `servers()`), after its singletons
 * stopped; a receiver treats the sender as ineligible until its nodeDown.
 */
import type { ClusterLogger, ClusterMessaging, MessageHandler } from '../../core/index.js';
import type { HandlerRegistrationOptions } from '../../distribution/index.js';
import { LeadershipMessages } from './leadership.messages.js';

/** The internal one-way topic of a planned handover (D7, D10). */
export const ABDICATE_TOPIC = '$gc.lead.abdicate';

/** `on` with the registration options of gen-cluster's messaging (internal topics). */
type InternalOn = (
  topic: string,
  handler: MessageHandler,
  options: HandlerRegistrationOptions,
) => () => void;

/** Calls `abdicated(from)` for each abdication received; returns a function that stops it. */
export function onAbdications(
  messaging: ClusterMessaging,
  abdicated: (from: string) => void,
): () => void {
  const on = messaging.on.bind(messaging) as InternalOn;
  return on(ABDICATE_TOPIC, (_payload, context) => abdicated(context.from), { internal: true });
}

/** Tells each of `members` that this node abdicated; a node it cannot reach is logged (debug). */
export function sendAbdication(
  messaging: ClusterMessaging,
  members: readonly string[],
  logger: ClusterLogger | undefined,
): void {
  for (const node of members) {
    try {
      messaging.send(node, ABDICATE_TOPIC, {});
    } catch (error) {
      logger?.debug?.(LeadershipMessages.abdicateNotSent(node, (error as Error).message), {
        event: 'abdicateNotSent',
        peer: node,
      });
    }
  }
}
