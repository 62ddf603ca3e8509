import { hostname } from 'node:os';
import {
  type ClusterLogger,
  DEFAULT_NAMESPACE,
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  Limiter,
  type Peer,
  canonicalHost,
  checkMilliseconds,
  checkNamespace,
  checkPort,
  hostForUrl,
  invalidOption,
  parseNodeName,
  toError,
} from '../../core/index.js';
import {
  DEFAULT_PORT_MAPPER_HOST,
  DEFAULT_PORT_MAPPER_PORT,
  PORT_MAPPER_DEFAULTS,
  PortMapperClient,
  type PortMapperNode,
} from '../../portmapper/index.js';
import { checkStrategyOptions, optionName } from '../option-checks.js';
import { LocalMessages } from './local.messages.js';

/**
 * Options of the `local` discovery (gen_cluster's `epmd_all`): every node registers with the port
 * mapper of its host, and this strategy asks the mapper of each host for the names registered in
 * its namespace.
 *
 * @example Nodes on this machine, with no other configuration:
 * { strategy: 'local' }
 * @example Nodes on this machine and on two others (their mappers must listen beyond loopback):
 * { strategy: 'local', hosts: ['localhost', 'box-2.example', '10.0.0.7'] }
 */
export interface LocalDiscoveryOptions {
  readonly strategy: 'local';
  /**
   * The hosts whose port mappers to ask; this host by default. `localhost` (and this host's own
   * name, and the host part of this node's name) means this host: its mapper is asked on
   * `127.0.0.1`, and its nodes are named with the host part of this node's name. Any other host is
   * asked as written, and its nodes are named `name@<host>` and dialled there, so it must be the
   * host part those nodes use in their own names (`GEN_CLUSTER_NODE=app@10.0.0.5`), and its mapper
   * must listen beyond loopback (the port mapper's `bind`); one list can serve every host.
   */
  readonly hosts?: readonly string[];
  /** The port mappers' port; {@link DEFAULT_PORT_MAPPER_PORT} (14369) by default. */
  readonly portMapperPort?: number;
  /** How long to wait for each mapper's connection (1 s by default). */
  readonly connectTimeoutMs?: number;
  /** How long to wait for each mapper's answer once connected (2 s by default). */
  readonly requestTimeoutMs?: number;
  /**
   * The cluster namespace (`GEN_CLUSTER_NAMESPACE`), `'default'` by default: only nodes registered
   * in it are listed. A node registered without one (an Erlang node, a version of this library
   * before namespaces) counts as `'default'`.
   */
  readonly namespace?: string;
}

/**
 * Port mappers asked at once, at most: a long host list (a hosts file may name thousands) must not
 * open a connection to every mapper on each refresh, spending the file descriptors and flooding
 * the network; the rest wait their turn.
 */
export const LOCAL_MAX_CONCURRENT_LOOKUPS = 16;

/** One configured host: where to ask, and the host part of the nodes it lists. */
interface Target {
  /** As configured, for messages. */
  readonly label: string;
  /** `undefined`: this host (asked on loopback, named after this node's host part). */
  readonly host: string | undefined;
}

const KNOWN_OPTIONS = [
  'strategy',
  'hosts',
  'portMapperPort',
  'connectTimeoutMs',
  'requestTimeoutMs',
  'namespace',
] as const;

/**
 * Peers from the host-local port mappers: one per name registered in this strategy's namespace,
 * `name@host` with the registered dist port. Registering is the dist's job; this strategy only
 * reads. The namespace of each name is in its registration's `Extra` field, which EPMD returns
 * per name only, so each refresh asks a mapper for its names and then for each name.
 *
 * A mapper that does not answer is a failed lookup, never "no peers": with one host, `peers()`
 * throws a {@link DiscoveryError} (the cluster keeps its last good peers); with several, a host that
 * does not answer contributes its last good names (logged), and only when no host answers does
 * `peers()` throw. At most {@link LOCAL_MAX_CONCURRENT_LOOKUPS} mappers are asked at once.
 */
export class LocalDiscovery implements DiscoveryStrategy {
  readonly name = 'local';
  /** The mappers' port. */
  readonly portMapperPort: number;
  /** The namespace whose nodes are listed. */
  readonly namespace: string;

  private targets: readonly Target[];
  private readonly client: PortMapperClient;
  /** Shared by overlapping lookups, so the bound holds for this strategy as a whole. */
  private readonly limiter = new Limiter(LOCAL_MAX_CONCURRENT_LOOKUPS);
  private readonly lastGood = new Map<string, readonly PortMapperNode[]>();
  private self: string | undefined;
  private selfHost: string | undefined;
  private logger: ClusterLogger | undefined;

  /** @throws InvalidConfigError naming the option, the value and the accepted forms. */
  constructor(options: LocalDiscoveryOptions | Omit<LocalDiscoveryOptions, 'strategy'> = {}) {
    checkStrategyOptions('local', options, KNOWN_OPTIONS, LocalMessages.accepts.options);
    const o = options as Record<string, unknown>;
    const option = (key: string) => optionName('local', key);
    const port = o.portMapperPort ?? DEFAULT_PORT_MAPPER_PORT;
    checkPort(option('portMapperPort'), port);
    this.portMapperPort = port;
    for (const key of ['connectTimeoutMs', 'requestTimeoutMs'] as const) {
      if (o[key] !== undefined) checkMilliseconds(option(key), o[key]);
    }
    const namespace = o.namespace ?? DEFAULT_NAMESPACE;
    checkNamespace(option('namespace'), namespace);
    this.namespace = namespace;
    const accepted = LocalMessages.accepts.hosts;
    const hosts = o.hosts ?? ['localhost'];
    if (!Array.isArray(hosts) || hosts.length === 0)
      throw invalidOption(option('hosts'), o.hosts, accepted);
    const seen = new Set<string>();
    const targets: Target[] = [];
    hosts.forEach((entry: unknown, i: number) => {
      const host = typeof entry === 'string' ? canonicalHost(entry.trim()) : undefined;
      if (host === undefined) throw invalidOption(option(`hosts[${i}]`), entry, accepted);
      const local = host === 'localhost' || host === canonicalHost(hostname());
      const key = local ? '' : host;
      if (seen.has(key)) return;
      seen.add(key);
      targets.push({ label: local ? 'localhost' : host, host: local ? undefined : host });
    });
    this.targets = targets;
    this.client = new PortMapperClient({
      port: this.portMapperPort,
      connectTimeoutMs:
        (o.connectTimeoutMs as number | undefined) ?? PORT_MAPPER_DEFAULTS.connectTimeoutMs,
      requestTimeoutMs:
        (o.requestTimeoutMs as number | undefined) ?? PORT_MAPPER_DEFAULTS.requestTimeoutMs,
    });
  }

  /** The hosts asked, as configured (`localhost` for this host). */
  get hosts(): readonly string[] {
    return this.targets.map(t => t.label);
  }

  init(context: DiscoveryContext): void {
    this.self = context.self;
    this.selfHost = parseNodeName(context.self).host;
    this.logger = context.logger;
    // This node's own host is this host: asked on loopback (its mapper may listen there only),
    // once, so that one `hosts` list can be given to the nodes of every host.
    const seen = new Set<string>();
    this.targets = this.targets
      .map(t => (t.host === this.selfHost ? { label: t.label, host: undefined } : t))
      .filter(t => !seen.has(t.host ?? '') && seen.add(t.host ?? ''));
  }

  async peers(signal?: AbortSignal): Promise<Peer[]> {
    if (signal?.aborted) throw toError(signal.reason);
    const answers = await Promise.allSettled(
      this.targets.map(target =>
        this.limiter.run(() => {
          // a lookup aborted while this host waited its turn does not connect
          if (signal?.aborted) return Promise.reject(toError(signal.reason));
          return this.client.nodes(target.host ?? DEFAULT_PORT_MAPPER_HOST, { signal });
        }),
      ),
    );
    if (signal?.aborted) throw toError(signal.reason);
    const failures: string[] = [];
    let firstError: Error | undefined;
    const unique = new Map<string, Peer>();
    answers.forEach((answer, i) => {
      const target = this.targets[i]!;
      let names: readonly PortMapperNode[];
      if (answer.status === 'fulfilled') {
        names = answer.value;
        this.lastGood.set(target.label, names);
      } else {
        const error = toError(answer.reason);
        firstError ??= error;
        failures.push(`${target.label}: ${error.message}`);
        const kept = this.lastGood.get(target.label);
        if (kept === undefined) return;
        if (this.targets.length > 1) this.logger?.warn(LocalMessages.partial(target.label, error));
        names = kept;
      }
      const nodeHost = target.host ?? this.selfHost ?? canonicalHost(hostname()) ?? 'localhost';
      for (const entry of names) {
        if (entry.namespace !== this.namespace) {
          // Another namespace's node is routine; one whose namespace is unreadable is worth a note.
          if (entry.namespace === undefined)
            this.logger?.debug?.(LocalMessages.unreadableNamespace(entry.name, target.label));
          continue;
        }
        const peer = toLocalPeer(entry, nodeHost);
        if (peer === undefined) {
          this.logger?.debug?.(LocalMessages.skipped(entry.name, target.label));
          continue;
        }
        if (peer.node !== this.self && !unique.has(peer.node)) unique.set(peer.node, peer);
      }
    });
    if (failures.length === this.targets.length) {
      throw new DiscoveryError(LocalMessages.allFailed(failures.join('; ')), {
        cause: firstError,
      });
    }
    return [...unique.values()];
  }
}

/** `name@host` with the registered port, or `undefined` when the name is not a node name part. */
function toLocalPeer(entry: PortMapperNode, host: string): Peer | undefined {
  if (entry.port < 1 || entry.port > 65535) return undefined;
  try {
    const parsed = parseNodeName(`${entry.name}@${hostForUrl(host)}`);
    return { node: `${parsed.name}@${parsed.host}`, port: entry.port };
  } catch {
    return undefined;
  }
}
