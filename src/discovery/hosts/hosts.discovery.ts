import {
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  type Peer,
  toError,
} from '../../core/index.js';
import { LocalDiscovery } from '../local/local.discovery.js';
import { type HostsFileContent, parseHostsFile } from './hosts-file.js';
import { readHostsFile } from './hosts-file-reader.js';
import {
  HOSTS_DISCOVERY_DEFAULTS,
  type HostsFileDiscoveryOptions,
  type ResolvedHostsFileDiscoveryOptions,
  resolveHostsFileDiscoveryOptions,
} from './hosts-options.js';
import { HostsFileWatcher } from './hosts-watcher.js';
import { HostsMessages } from './hosts.messages.js';

/**
 * Peers from a hosts file (see {@link parseHostsFile} for the format): its `name@host[:port]`
 * lines, and the nodes registered with the port mappers of its host lines (asked as `local`
 * discovery asks them, in this strategy's namespace).
 *
 * The file is read at `init` and again whenever it changes (a watch on its directory, and a poll,
 * see {@link HostsFileWatcher}); a change of what it lists asks the cluster to refresh at once, so
 * adding a line adds a member without a restart. A bad line is warned about with its `file:line`
 * and skipped; the others stand.
 *
 * Failures never read as "no peers": a missing or unreadable file, or one over its bounds, makes
 * `peers()` throw a {@link DiscoveryError} (the cluster keeps its last good peers; a file missing
 * at startup is not fatal, it is read once it appears). When no listed host's port mapper answers
 * but the file lists nodes, `peers()` answers those nodes with the hosts' last good nodes and
 * reports the failure (`discoveryError` with source `hosts <host...>`); with no node lines it throws.
 */
export class HostsFileDiscovery implements DiscoveryStrategy {
  readonly name = 'hosts';
  /** The options in force, defaults filled in. */
  readonly settings: ResolvedHostsFileDiscoveryOptions;

  private context: DiscoveryContext | undefined;
  private watcher: HostsFileWatcher | undefined;
  /** The bytes last read, to tell a real change from a touch. */
  private content: Buffer | undefined;
  /** The last good listing. */
  private listed: HostsFileContent | undefined;
  /** Why the last read failed; cleared by a good read. */
  private failure: DiscoveryError | undefined;
  /** Asks the port mappers of `listed.hosts`; rebuilt only when those hosts change. */
  private local: LocalDiscovery | undefined;
  private hostPeers: readonly Peer[] = [];
  private hostFailures = 0;
  private loading: Promise<void> | undefined;
  private loadAgain = false;
  private closed = false;

  /** @throws InvalidConfigError naming the option, the value and the accepted forms. */
  constructor(options: HostsFileDiscoveryOptions | Omit<HostsFileDiscoveryOptions, 'strategy'>) {
    this.settings = resolveHostsFileDiscoveryOptions(options);
  }

  /** Whether the file's directory is being watched (else it is only polled). */
  get watching(): boolean {
    return this.watcher?.watching ?? false;
  }

  /** Reads the file (a failure is kept for `peers()`, never thrown) and starts watching it. */
  async init(context: DiscoveryContext): Promise<void> {
    this.context = context;
    if (this.closed || this.watcher !== undefined) return;
    const { file, watch, pollIntervalMs } = this.settings;
    const watcher = new HostsFileWatcher({
      file,
      watch,
      pollIntervalMs,
      debounceMs: HOSTS_DISCOVERY_DEFAULTS.debounceMs,
      onChange: () => void this.reload(),
      onWatchError: (directory, error) =>
        context.logger.warn(HostsMessages.watchFailed(directory, error, pollIntervalMs)),
    });
    this.watcher = watcher;
    // Baseline first, read second: a change in between is then seen by the next poll.
    await watcher.start();
    await this.reload();
  }

  async peers(signal?: AbortSignal): Promise<Peer[]> {
    if (signal?.aborted) throw toError(signal.reason);
    // A file that failed (missing, mid-replace) is read again at once rather than at the next poll.
    if (this.failure !== undefined || this.listed === undefined) await this.reload();
    if (this.failure !== undefined) throw this.failure;
    const nodes = this.listed?.nodes ?? [];
    const local = this.local;
    if (local === undefined) return [...nodes];
    try {
      const found = await local.peers(signal);
      if (local === this.local) {
        this.hostPeers = found;
        this.hostFailures = 0;
      }
    } catch (error) {
      if (signal?.aborted) throw toError(signal.reason);
      const { file } = this.settings;
      const cause = toError(error);
      if (nodes.length === 0)
        throw new DiscoveryError(HostsMessages.hostsFailed(file, cause), { cause });
      const failed = new DiscoveryError(HostsMessages.hostsFailedWithNodes(file, cause), { cause });
      this.hostFailures++;
      const report = this.context?.reportError;
      if (report !== undefined)
        report(failed, HostsMessages.hostsSource(local.hosts), this.hostFailures);
      else if (this.hostFailures === 1) this.context?.logger.warn(failed.message);
    }
    const union = new Map<string, Peer>();
    for (const peer of [...nodes, ...this.hostPeers])
      if (!union.has(peer.node)) union.set(peer.node, peer);
    return [...union.values()];
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
  }

  /** Reads and parses the file, one read at a time; a call during a read runs one more after it. */
  private reload(): Promise<void> {
    if (this.loading !== undefined) {
      this.loadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.loadAgain = false;
        await this.load();
      } while (this.loadAgain && !this.closed);
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    const { file } = this.settings;
    const wasFailing = this.failure !== undefined;
    let listing: HostsFileContent;
    let bytes: Buffer;
    try {
      bytes = await readHostsFile(file);
      if (this.content?.equals(bytes) && this.listed !== undefined && !wasFailing) return;
      listing = parseHostsFile(bytes.toString('utf8'), file);
    } catch (error) {
      this.content = undefined;
      this.failure =
        error instanceof DiscoveryError
          ? error
          : new DiscoveryError(HostsMessages.unreadable(file, toError(error)), { cause: error });
      // Say so at once (the cluster logs the failed lookup), but once per failure, not per poll.
      if (!wasFailing && this.listed !== undefined) this.context?.requestRefresh();
      return;
    }
    if (this.closed) return;
    this.content = bytes;
    this.failure = undefined;
    this.warnBadLines(listing);
    const logger = this.context?.logger;
    logger?.debug?.(
      HostsMessages.loaded(file, listing.nodes.length, listing.hosts.length, listing.errors.length),
    );
    const previous = this.listed;
    this.listed = listing;
    const hostsChanged =
      previous === undefined || listingKey(previous.hosts) !== listingKey(listing.hosts);
    if (hostsChanged || (this.local === undefined && listing.hosts.length > 0))
      this.rebuildLocal(listing.hosts);
    const changed =
      hostsChanged ||
      listingKey(previous.nodes.map(peerKey)) !== listingKey(listing.nodes.map(peerKey));
    // A file that came back (or arrived late: mounts can) is news even when its listing is not.
    if ((previous !== undefined && changed) || wasFailing) this.context?.requestRefresh();
  }

  private rebuildLocal(hosts: readonly string[]): void {
    const context = this.context;
    this.hostPeers = [];
    this.hostFailures = 0;
    if (hosts.length === 0 || context === undefined) {
      this.local = undefined;
      return;
    }
    const { namespace, portMapperPort } = this.settings;
    const local = new LocalDiscovery({ hosts, namespace, portMapperPort });
    local.init(context);
    this.local = local;
  }

  private warnBadLines(listing: HostsFileContent): void {
    const logger = this.context?.logger;
    if (logger === undefined) return;
    const { maxWarnedLines } = HOSTS_DISCOVERY_DEFAULTS;
    for (const bad of listing.errors.slice(0, maxWarnedLines))
      logger.warn(HostsMessages.badLine(this.settings.file, bad.line, bad.text, bad.reason));
    if (listing.errors.length > maxWarnedLines)
      logger.warn(
        HostsMessages.moreBadLines(this.settings.file, listing.errors.length - maxWarnedLines),
      );
  }
}

/** A peer as the file states it: name and port. */
function peerKey(peer: Peer): string {
  return `${peer.node}:${peer.port ?? ''}`;
}

/** An order-free key of a list, to tell a change of what is listed from a reordering. */
function listingKey(items: readonly string[]): string {
  return [...items].sort().join('\n');
}
