/**
 * The planned handover's message (D7): a node that abdicates tells each member on the internal
 * one-way topic `$gc.lead.abdicate` (never announced, never in `servers()`), after its singletons
 * stopped; a receiver treats the sender as ineligible until its nodeDown.
 */
import type { ClusterLogger, ClusterMessaging } from '../../core/index.js';
import { onInternal } from '../internal-topics.js';
import { LeadershipMessages } from './leadership.messages.js';

/** The internal one-way topic of a planned handover (D7, D10). */
export const ABDICATE_TOPIC = '$gc.lead.abdicate';

/** Calls `abdicated(from)` for each abdication received; returns a function that stops it. */
export function onAbdications(
  messaging: ClusterMessaging,
  abdicated: (from: string) => void,
): () => void {
  return onInternal(messaging, ABDICATE_TOPIC, (_payload, context) => abdicated(context.from));
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
