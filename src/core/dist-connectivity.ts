import type { StructuredLogger } from './cluster-logger.js';
import type { ClusterEvent } from './events.js';
import { CoreMessages } from './messages.js';

/**
 * Whether the dist can reach its peers, as a broker dist reports it (`DistContext.
 * reportConnectivity`): one `distDisconnected` event and warning per outage, one `distConnected`
 * with the outage's length when it ends. Repeated reports of the same state are ignored, so a
 * dist may report every status change of its client.
 */
export class DistConnectivity {
  private downSince: number | undefined;

  constructor(
    private readonly ports: {
      readonly logger: StructuredLogger;
      readonly emit: (event: ClusterEvent) => void;
      /** Whether a report is still news (not once the engine stopped). */
      readonly reporting: () => boolean;
      readonly now?: () => number;
    },
  ) {}

  /** `false` while the dist is cut off. */
  get connected(): boolean {
    return this.downSince === undefined;
  }

  /** How long the current outage has lasted, in ms; `undefined` while connected. */
  disconnectedForMs(): number | undefined {
    if (this.downSince === undefined) return undefined;
    return Math.max(0, Math.round(this.now() - this.downSince));
  }

  private now(): number {
    return (this.ports.now ?? performance.now.bind(performance))();
  }

  report(connected: boolean, reason?: string): void {
    if (!this.ports.reporting() || connected === this.connected) return;
    const now = this.now();
    if (!connected) {
      this.downSince = now;
      const cause = reason ?? 'no reason given';
      this.ports.logger.warn(CoreMessages.distDisconnected(cause), {
        event: 'distDisconnected',
        reason: cause,
      });
      this.ports.emit({ type: 'distDisconnected', reason: cause });
      return;
    }
    const downForMs = Math.round(now - (this.downSince ?? now));
    this.downSince = undefined;
    this.ports.logger.log(CoreMessages.distConnected(downForMs), {
      event: 'distConnected',
      downForMs,
    });
    this.ports.emit({ type: 'distConnected', downForMs });
  }
}
