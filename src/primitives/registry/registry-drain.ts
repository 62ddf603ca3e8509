/**
 * The drain: withdraw this node's topics as acknowledged requests, so that
 * every call a peer routed here before the withdrawal has arrived once it acknowledges (links are
 * ordered), then wait for the requests being served to finish. Both steps are bounded.
 */
import { type ClusterLogger, type RegistryMessaging, checkMilliseconds } from '../../core/index.js';
import { PrimitivesMessages } from '../primitives.messages.js';
import type { DrainOptions, DrainResult } from '../primitives.types.js';
import { REGISTRY_DELTA } from './registry-protocol.js';
import type { RegistrySync } from './registry-sync.js';

/** The default bound of a whole drain. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** The default bound of the acknowledgements. */
export const DEFAULT_DRAIN_ACK_TIMEOUT_MS = 2_000;

/** What a drain works with. */
export interface DrainContext {
  readonly sync: RegistrySync;
  readonly messaging: RegistryMessaging;
  readonly logger?: ClusterLogger;
}

/** Checks the options of a drain now (they are user input), before anything is withdrawn. */
export function drainBounds(options: DrainOptions = {}): {
  readonly timeoutMs: number;
  readonly ackTimeoutMs: number;
} {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_DRAIN_ACK_TIMEOUT_MS;
  checkMilliseconds('drain.timeoutMs', timeoutMs);
  checkMilliseconds('drain.ackTimeoutMs', ackTimeoutMs);
  return { timeoutMs, ackTimeoutMs };
}

/** Runs a drain; never rejects (a peer that does not acknowledge is reported, not thrown). */
export async function runDrain(
  context: DrainContext,
  bounds: { readonly timeoutMs: number; readonly ackTimeoutMs: number },
): Promise<DrainResult> {
  const started = performance.now();
  const { delta, targets } = context.sync.startDrain();
  const ackMs = Math.min(bounds.ackTimeoutMs, bounds.timeoutMs);
  const outcomes = await Promise.all(
    targets.map(node => {
      try {
        return context.messaging.request(node, REGISTRY_DELTA, delta, { timeoutMs: ackMs }).then(
          () => true,
          () => false,
        );
      } catch {
        return Promise.resolve(false);
      }
    }),
  );
  const unacked = targets.filter((_, i) => !outcomes[i]);
  if (unacked.length > 0) context.logger?.warn(PrimitivesMessages.drainUnacked(unacked, ackMs));
  const left = bounds.timeoutMs - (performance.now() - started);
  const servingLeft = await whenIdle(context.messaging, left);
  const elapsed = Math.round(performance.now() - started);
  if (servingLeft > 0)
    context.logger?.warn(PrimitivesMessages.drainServingLeft(servingLeft, elapsed));
  else context.logger?.log(PrimitivesMessages.drainDone(targets.length - unacked.length, elapsed));
  return { acked: targets.length - unacked.length, unacked, servingLeft };
}

/** Waits up to `ms` for no request being served; the count left (0 when idle). */
async function whenIdle(messaging: RegistryMessaging, ms: number): Promise<number> {
  const count = (): number => messaging.servingCount ?? 0;
  if (typeof messaging.whenIdle !== 'function' || ms < 1) return count();
  const bound = new AbortController();
  const timer = setTimeout(() => bound.abort(), Math.ceil(ms));
  timer.unref();
  try {
    await messaging.whenIdle(bound.signal);
    return 0;
  } catch {
    return count();
  } finally {
    clearTimeout(timer);
  }
}
