// The machine a run was made on, recorded in the results file as `machine`: figures from two
// machines (or one machine under two loads) are not comparable, ratios within one run are.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** The 1, 5 and 15 min load averages, to two decimals. */
export const loadAverage = () => os.loadavg().map(x => +x.toFixed(2));

/**
 * The installed version of `pkg`, or null. Read from its folder in node_modules: packages with an
 * `exports` map (Moleculer, Nest) refuse `require.resolve('<pkg>/package.json')`.
 */
function versionOf(pkg) {
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const file = join(dir, pkg, 'package.json');
    if (!existsSync(file)) continue;
    try {
      return JSON.parse(readFileSync(file, 'utf8')).version ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

/** `nats-server --version` ("v2.9.10"), or null when it is not installed. */
function natsServerVersion() {
  const binary = []
    .concat(process.env.BENCH_NATS_SERVER ?? [])
    .concat(['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'])
    .find(path => existsSync(path));
  if (!binary) return null;
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 });
    return /v\d+\.\d+\.\d+/.exec(out)?.[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * CPU, cores, memory, platform, load average (now, and `loadAverageAtStart` if given) and the
 * versions of the stacks compared.
 */
export function machine(root, { loadAverageAtStart } = {}) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: loadAverage(),
    ...(loadAverageAtStart ? { loadAverageAtStart } : {}),
    versions: {
      'gen-cluster': JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
      moleculer: versionOf('moleculer'),
      '@nestjs/microservices': versionOf('@nestjs/microservices'),
      '@nestjs/core': versionOf('@nestjs/core'),
      nats: versionOf('nats'),
      '@nats-io/transport-node': versionOf('@nats-io/transport-node'),
      'nats-server': natsServerVersion(),
    },
  };
}
