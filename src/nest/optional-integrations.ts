/**
 * The only place where the Nest layer loads the optional entries `../metrics` (prom-client) and
 * `../otel` (@opentelemetry/api), by dynamic `import()` when an option asks for them, so an app
 * without those packages never loads them. Typed with this package's own interfaces: no
 * declaration of `src/nest` names an optional package.
 */
import type { Observable } from 'rxjs';
import {
  type ClusterEvent,
  type ClusterHealthSnapshot,
  type ClusterMessaging,
  type DistStats,
  type MessagingInstrumentation,
  loadOptional,
} from '../core/index.js';
import type {
  ClusterMetricsSettings,
  MetricsRegistryLike,
} from './gen-cluster-options.interface.js';

/** Where a cluster's metrics come from (the `./metrics` entry's `MetricsSource`). @internal */
export interface MetricsSourceLike {
  readonly cluster: string;
  readonly engine: {
    readonly events$: Observable<ClusterEvent>;
    health(): ClusterHealthSnapshot;
  };
  readonly messaging?: Pick<ClusterMessaging, 'instrument' | 'stats'>;
  readonly dist?: { stats?(): DistStats };
}

/** A cluster's attached metrics: `close()` removes its series. @internal */
export interface MetricsHandle {
  close(): void;
}

/** What the `./metrics` entry offers the Nest layer. */
interface MetricsEntry {
  readonly ClusterMetrics: {
    attach(
      source: MetricsSourceLike,
      options?: ClusterMetricsSettings & { readonly registry?: MetricsRegistryLike },
    ): MetricsHandle;
  };
}

/**
 * Attaches Prometheus metrics to a cluster (`metrics: true`: prom-client's global registry; a
 * registry: that one). Rejects with `OptionalPackageMissingError` naming `prom-client` when
 * it is not installed.
 */
export async function attachMetrics(
  source: MetricsSourceLike,
  metrics: true | MetricsRegistryLike,
  settings: ClusterMetricsSettings | undefined,
): Promise<MetricsHandle> {
  // Typed by this layer's own interface; the assignment checks that the entry still fits it.
  const entry: MetricsEntry = await loadOptional(
    'prom-client',
    'Prometheus metrics (GenClusterModule option "metrics")',
    () => import('../metrics/index.js'),
  );
  return entry.ClusterMetrics.attach(source, {
    ...settings,
    ...(metrics === true ? {} : { registry: metrics }),
  });
}

/**
 * The tracing hooks for `tracing: 'auto' | true` (`../otel/tracing.js` imports
 * `@opentelemetry/api` itself, dynamically): `undefined` when `'auto'` finds no
 * `@opentelemetry/api`, so nothing is installed and nothing is paid; with `true`, rejects with
 * `OptionalPackageMissingError` naming the package.
 */
export async function loadTracingHooks(
  mode: 'auto' | true,
): Promise<MessagingInstrumentation | undefined> {
  const { loadTracing } = await import('../otel/tracing.js');
  return loadTracing(mode);
}
