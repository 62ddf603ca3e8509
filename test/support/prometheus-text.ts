import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

/** A metric family as parse-prometheus-text-format returns it (prom2json's shape; values are strings). */
export interface MetricFamily {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly {
    readonly value?: string;
    readonly labels?: Record<string, string>;
    readonly buckets?: Record<string, string>;
    readonly count?: string;
    readonly sum?: string;
  }[];
}

/** Parses Prometheus text exposition format into its metric families. */
export const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => MetricFamily[];

const PROMTOOL_APT_PACKAGE = 'prometheus';

/**
 * Runs `promtool check metrics` on `text` (stdin): its exit code and what it printed (clean text
 * gives `{ code: 0, output: '' }`). promtool comes from the system packages
 * (scripts/system-packages.mjs); its absence throws, naming the install command, rather than
 * skipping the check.
 */
export function promtoolCheck(text: string): { code: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `"promtool check metrics" could not run (${result.error.message}). Install Debian's "${PROMTOOL_APT_PACKAGE}" package as root (see scripts/system-packages.mjs):\n  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PROMTOOL_APT_PACKAGE}`,
    );
  }
  return { code: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}
