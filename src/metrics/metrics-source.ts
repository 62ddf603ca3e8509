import type { Observable } from 'rxjs';
import {
  type ClusterEvent,
  type ClusterHealthSnapshot,
  type ClusterMessaging,
  type DistStrategy,
  InvalidConfigError,
  type QuorumState,
} from '../core/index.js';
import { MetricsMessages } from './metrics.messages.js';

/**
 * Where one cluster's figures come from. The Nest module builds it; a `createCluster` user passes
 * `{ cluster: 'default', engine: cluster, messaging: dist.messaging, dist }`.
 */
export interface MetricsSource {
  /** The `cluster` label: a named cluster's name, `'default'` for the default one. */
  readonly cluster: string;
  /** Membership events (pushed to the counters) and the health snapshot (read at scrape). */
  readonly engine: {
    readonly events$: Observable<ClusterEvent>;
    health(): ClusterHealthSnapshot;
    /**
     * The current snapshot (a `GenCluster` has it): with a quorum rule it carries `quorum`, and
     * the quorum gauge is registered for this cluster. Absent: no quorum gauge.
     */
    readonly membership?: { readonly quorum?: QuorumState };
  };
  /** Messaging counters (read at scrape) and the hook that times requests; absent: none of them. */
  readonly messaging?: Pick<ClusterMessaging, 'instrument' | 'stats'>;
  /** Links and handshake refusals (read at scrape); absent: no send-queue or refusal figures. */
  readonly dist?: Pick<DistStrategy, 'stats'>;
}

/** Refuses a source the metrics could not read, at attach rather than at the first scrape. */
export function checkMetricsSource(source: unknown): asserts source is MetricsSource {
  if (typeof source !== 'object' || source === null) {
    throw invalid('', source, 'an object with cluster and engine');
  }
  const { cluster, engine, messaging, dist } = source as Record<string, unknown>;
  if (typeof cluster !== 'string' || cluster === '') {
    throw invalid('.cluster', cluster, 'a non-empty string (the cluster label)');
  }
  const events$ = (engine as { events$?: { subscribe?: unknown } } | null | undefined)?.events$;
  if (
    typeof events$?.subscribe !== 'function' ||
    typeof (engine as { health?: unknown }).health !== 'function'
  ) {
    throw invalid('.engine', engine, 'an object with events$ and health() (a GenCluster)');
  }
  if (messaging !== undefined && (typeof messaging !== 'object' || messaging === null)) {
    throw invalid(
      '.messaging',
      messaging,
      'a messaging layer (with stats and instrument) or undefined',
    );
  }
  if (dist !== undefined && (typeof dist !== 'object' || dist === null)) {
    throw invalid('.dist', dist, 'a dist strategy or undefined');
  }
}

function invalid(field: string, value: unknown, accepted: string): InvalidConfigError {
  return new InvalidConfigError(MetricsMessages.sourceInvalid(field, value, accepted), {
    option: `source${field}`,
  });
}
