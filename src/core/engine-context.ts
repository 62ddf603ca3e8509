import type { StructuredLogger } from './cluster-logger.js';
import { toError } from './errors.js';
import type { ClusterEvent } from './events.js';
import { FormationGate } from './formation-gate.js';
import { type FormationOptions, resolveFormationOptions } from './formation-options.js';
import { FormationMessages } from './formation.messages.js';
import type { DiscoveryContext, DistStrategy } from './strategy.js';

/** What {@link engineDiscoveryContext} needs from the engine. */
export interface DiscoveryContextPorts {
  readonly self: string;
  readonly logger: StructuredLogger;
  readonly dist: DistStrategy;
  requestRefresh(): void;
  /** Whether a strategy's own report is still news (not once the engine stopped). */
  reporting(): boolean;
  emit(event: ClusterEvent): void;
}

/**
 * What discovery gets at init: the dist's port and key derivation when it offers them (read now,
 * after the dist started), and a way to report its own errors as `discoveryError` events.
 */
export function engineDiscoveryContext(ports: DiscoveryContextPorts): DiscoveryContext {
  const { dist } = ports;
  const port = dist.port;
  const deriveKey = dist.deriveKey?.bind(dist);
  return {
    self: ports.self,
    logger: ports.logger,
    requestRefresh: () => ports.requestRefresh(),
    ...(typeof port === 'number' ? { port } : {}),
    ...(deriveKey ? { deriveKey } : {}),
    reportError: (error, source, consecutive = 1) => {
      if (ports.reporting())
        ports.emit({ type: 'discoveryError', error: toError(error), consecutive, source });
    },
  };
}

/**
 * The engine's formation gate for its `formation` option. A configured gate watches its condition
 * with a timer at once and logs the formation; an unconfigured one (the defaults) keeps quiet.
 */
export function engineFormationGate(
  option: FormationOptions | undefined,
  logger: StructuredLogger,
): { readonly gate: FormationGate; readonly configured: boolean } {
  const formation = resolveFormationOptions(option);
  const configured = option !== undefined;
  const gate = new FormationGate(
    formation,
    undefined,
    ({ members }) => {
      if (!configured) return;
      const { minMembers, stableMarginMs } = formation;
      logger.log(FormationMessages.formed(members, minMembers, stableMarginMs), {
        event: 'formed',
      });
    },
    configured,
  );
  return { gate, configured };
}
