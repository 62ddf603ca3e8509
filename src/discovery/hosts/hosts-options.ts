/**
 * The options of the `hosts` discovery: their type, defaults, and the checks made when the
 * strategy is built.
 */
import { resolve } from 'node:path';
import {
  DEFAULT_NAMESPACE,
  checkMilliseconds,
  checkNamespace,
  checkPort,
  invalidOption,
} from '../../core/index.js';
import { DEFAULT_PORT_MAPPER_PORT } from '../../portmapper/index.js';
import { checkStrategyOptions, optionName } from '../option-checks.js';
import { HostsMessages } from './hosts.messages.js';

/**
 * Options of the `hosts` discovery: a file listing nodes (`name@host[:port]`) and hosts whose port
 * mappers are asked (as `local` discovery with `hosts`), reloaded when it changes.
 *
 * @example A file, watched (short form `hosts:/etc/gen-cluster.hosts`):
 * { strategy: 'hosts', file: '/etc/gen-cluster.hosts' }
 * @example On a file system where watching does not work (some network mounts), polled every 5 s:
 * { strategy: 'hosts', file: '/mnt/shared/cluster.hosts', watch: false, pollIntervalMs: 5000 }
 */
export interface HostsFileDiscoveryOptions {
  readonly strategy: 'hosts';
  /** The hosts file; a relative path is taken from the working directory at construction. */
  readonly file: string;
  /**
   * Watch the file's directory for changes (default `true`), so an edit, an atomic rename or a
   * Kubernetes ConfigMap update is seen at once; the file is polled too, in case events are lost.
   * `false`: poll only.
   */
  readonly watch?: boolean;
  /** How often the file is checked for changes, in ms (default 2000). */
  readonly pollIntervalMs?: number;
  /** The port mappers' port, for the hosts the file lists (default 14369). */
  readonly portMapperPort?: number;
  /**
   * The cluster namespace (`GEN_CLUSTER_NAMESPACE`): only nodes registered in it are taken from
   * the hosts' port mappers. The file's own node lines are taken as written.
   */
  readonly namespace?: string;
}

/** The options in force, defaults filled in. */
export interface ResolvedHostsFileDiscoveryOptions {
  /** Absolute path of the file. */
  readonly file: string;
  readonly watch: boolean;
  readonly pollIntervalMs: number;
  readonly portMapperPort: number;
  readonly namespace: string;
}

/** Defaults of the `hosts` discovery. */
export const HOSTS_DISCOVERY_DEFAULTS = Object.freeze({
  watch: true,
  pollIntervalMs: 2_000,
  /** Directory events within this window are one change (an editor writes in several steps). */
  debounceMs: 100,
  /** The lowest `pollIntervalMs` accepted. */
  minPollIntervalMs: 10,
  /** Bad lines warned about one by one per load; the rest are counted in one line. */
  maxWarnedLines: 20,
});

const KNOWN_OPTIONS = [
  'strategy',
  'file',
  'watch',
  'pollIntervalMs',
  'portMapperPort',
  'namespace',
] as const;

/**
 * Checks the options of the `hosts` discovery and fills in the defaults.
 * @throws InvalidConfigError naming the option, the value and the accepted forms.
 */
export function resolveHostsFileDiscoveryOptions(
  options: unknown,
): ResolvedHostsFileDiscoveryOptions {
  checkStrategyOptions('hosts', options, KNOWN_OPTIONS, HostsMessages.accepts.options);
  const option = (key: string) => optionName('hosts', key);
  const { file } = options;
  if (typeof file !== 'string' || file.trim() === '' || file.includes('\0'))
    throw invalidOption(option('file'), file, HostsMessages.accepts.file);
  const watch = options.watch ?? HOSTS_DISCOVERY_DEFAULTS.watch;
  if (typeof watch !== 'boolean')
    throw invalidOption(option('watch'), watch, HostsMessages.accepts.watch);
  const pollIntervalMs = options.pollIntervalMs ?? HOSTS_DISCOVERY_DEFAULTS.pollIntervalMs;
  checkMilliseconds(option('pollIntervalMs'), pollIntervalMs, {
    min: HOSTS_DISCOVERY_DEFAULTS.minPollIntervalMs,
  });
  const portMapperPort = options.portMapperPort ?? DEFAULT_PORT_MAPPER_PORT;
  checkPort(option('portMapperPort'), portMapperPort);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  checkNamespace(option('namespace'), namespace);
  return { file: resolve(file), watch, pollIntervalMs, portMapperPort, namespace };
}
