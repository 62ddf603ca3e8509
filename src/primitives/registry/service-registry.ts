/**
 * The service registry's public face: which nodes serve which topic, and which nodes hold which
 * generic entry (process groups, leadership terms). It wires the sync (the replication protocol)
 * to the cluster's events, the messaging layer's internal topics and its local topics, and
 * answers both kinds of question from the one replicated table.
 */
import {
  type Observable,
  Subject,
  type Subscription,
  distinctUntilChanged,
  map,
  startWith,
} from 'rxjs';
import {
  type ClusterControl,
  type ClusterLogger,
  CoreMessages,
  GenClusterError,
  type RegistryMessaging,
  type ServedKind,
  type ServedTopic,
  checkInteger,
  checkMilliseconds,
  hasRegistrySupport,
  invalidOption,
} from '../../core/index.js';
import { topicName } from '../../distribution/index.js';
import { checkServiceKey } from '../calls/call-options.js';
import { owner, rank } from '../calls/rendezvous.js';
import { PrimitivesMessages } from '../primitives.messages.js';
import type {
  DrainOptions,
  DrainResult,
  OwnerOptions,
  ServiceEntry,
  ServiceKey,
  ServicesChange,
  ServiceTopic,
  WaitForServersOptions,
} from '../primitives.types.js';
import { drainBounds, runDrain } from './registry-drain.js';
import {
  ENTRY_WIRE_KIND,
  type RegistryEntryChange,
  type RegistryEntryKind,
  checkEntry,
  checkEntryKind,
  entriesFull,
  registryEntries,
} from './registry-entries.js';
import {
  type EntryKey,
  KIND_GROUP,
  KIND_HANDLER,
  KIND_SUBSCRIBER,
  KIND_TERM,
  MAX_REGISTRY_ENTRIES,
  REGISTRY_DELTA,
  REGISTRY_HELLO,
  entryKey,
  fromEntryKey,
} from './registry-protocol.js';
import { RegistrySync, type SyncChange } from './registry-sync.js';
import { onInternal } from '../internal-topics.js';

/** Timings of the registry's protocol; tests shorten them. */
export interface RegistryTimings {
  /** How long a hello waits for its answer (2 s). */
  readonly helloTimeoutMs: number;
  /** The first hello retry delay (250 ms), doubling up to {@link helloRetryMaxMs}. */
  readonly helloRetryMs: number;
  /** The longest hello retry delay (5 s). */
  readonly helloRetryMaxMs: number;
  /** After this long without news of a suppressed entry, its node is asked again (2 s). */
  readonly suppressedHealMs: number;
}

/** Options of a {@link ServiceRegistry}. */
export interface ServiceRegistryOptions {
  /** The cluster whose members are asked (its `nodeUp`/`nodeDown` events drive the registry). */
  readonly cluster: Pick<ClusterControl, 'self' | 'events$' | 'nodes'>;
  /** The messaging layer: its internal topics carry the registry, its local topics are announced. */
  readonly messaging: RegistryMessaging;
  /** Where the registry logs; silent when unset. */
  readonly logger?: ClusterLogger;
  /** @internal tests shorten them */
  readonly timings?: Partial<RegistryTimings>;
}

/** The topic kinds: request handlers and subscribers. */
const TOPIC_KINDS: ReadonlySet<string> = new Set([KIND_HANDLER, KIND_SUBSCRIBER]);
/** Every kind this build keeps of its peers: the topic kinds, groups and terms. */
const KINDS: ReadonlySet<string> = new Set([...TOPIC_KINDS, KIND_GROUP, KIND_TERM]);
const WIRE_KIND: Record<ServedKind, string> = {
  handler: KIND_HANDLER,
  subscriber: KIND_SUBSCRIBER,
};
const DEFAULT_WAIT_MS = 30_000;

const sameNodes = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((node, i) => node === b[i]);

/** The public form of table keys (kinds this build does not know are left out). */
function servedTopics(keys: readonly EntryKey[]): ServedTopic[] {
  const topics: ServedTopic[] = [];
  for (const key of keys) {
    const [kind, topic] = fromEntryKey(key);
    if (kind === KIND_HANDLER) topics.push({ topic, kind: 'handler' });
    else if (kind === KIND_SUBSCRIBER) topics.push({ topic, kind: 'subscriber' });
  }
  return topics;
}

/**
 * Which connected nodes serve which topic. Each node announces its own request handlers and
 * subscribers to its peers (a table when a peer comes up, then small deltas), and keeps theirs;
 * a node that goes down leaves every set in the same delivery as its `nodeDown` event.
 */
export class ServiceRegistry {
  private readonly sync: RegistrySync;
  private readonly changes = new Subject<ServicesChange>();
  private readonly entryChanges = new Subject<RegistryEntryChange>();
  /** Pokes every view of the index (suppressions included, which are not changes). */
  private readonly ticks = new Subject<void>();
  private readonly teardown: (() => void)[] = [];
  private readonly subscription: Subscription;
  private drained: Promise<DrainResult> | undefined;
  private closed = false;

  constructor(private readonly options: ServiceRegistryOptions) {
    const { cluster, messaging } = options;
    if (!hasRegistrySupport(messaging))
      throw new GenClusterError(
        'ERR_MESSAGING_UNSUPPORTED',
        PrimitivesMessages.registryUnsupported(),
      );
    const timings = options.timings ?? {};
    this.sync = new RegistrySync({
      self: cluster.self,
      kinds: KINDS,
      logger: options.logger,
      timings,
      io: {
        hello: (node, body) =>
          messaging.request(node, REGISTRY_HELLO, body, {
            timeoutMs: timings.helloTimeoutMs ?? 2_000,
          }),
        send: (node, delta) => messaging.send(node, REGISTRY_DELTA, delta),
        changed: change => this.onChange(change),
        rerouted: () => this.ticks.next(),
      },
    });
    // First subscriber of events$ (before application code can subscribe): a node leaves every
    // set in the same delivery as its nodeDown.
    this.subscription = cluster.events$.subscribe(event => {
      if (event.type === 'nodeUp') this.sync.nodeUp(event.node);
      else if (event.type === 'nodeDown') this.sync.nodeDown(event.node);
    });
    this.teardown.push(
      onInternal(messaging, REGISTRY_HELLO, (payload, context) =>
        this.sync.onHello(context.from, payload),
      ),
      onInternal(messaging, REGISTRY_DELTA, (payload, context) =>
        this.sync.onDelta(context.from, payload),
      ),
    );
    const view = messaging.localTopics;
    this.sync.seedLocal(view.served().map(s => entryKey(WIRE_KIND[s.kind], s.topic)));
    this.teardown.push(
      view.watch(change =>
        this.sync.localChanged(entryKey(WIRE_KIND[change.kind], change.topic), change.added),
      ),
    );
    for (const node of cluster.nodes()) this.sync.nodeUp(node);
  }

  /** Nodes (this one included) with a request handler of `topic`, sorted; `[]` when none. */
  servers(topic: ServiceTopic): string[] {
    return [...this.serversView(topic)];
  }

  /**
   * `servers(topic)` without the copy: the same array until the registry changes; never modify it.
   * @internal for `call`'s selection
   */
  serversView(topic: ServiceTopic): readonly string[] {
    return this.sync.table.nodesOf(entryKey(KIND_HANDLER, nameOf(topic)));
  }

  /** Nodes (this one included) with subscribers of `topic`, sorted; `[]` when none. */
  subscribers(topic: ServiceTopic): string[] {
    return [...this.sync.table.nodesOf(entryKey(KIND_SUBSCRIBER, nameOf(topic)))];
  }

  /** This node's name (for `call`'s `'local-first'`). @internal */
  get self(): string {
    return this.options.cluster.self;
  }

  /** The registry's version: it moves on every change of any topic's nodes. @internal */
  get version(): number {
    return this.sync.table.version;
  }

  /** Every served topic with its servers and subscribers (internal topics left out), by name. */
  services(): ReadonlyMap<string, ServiceEntry> {
    const names = new Set<string>();
    for (const key of this.sync.table.keys()) {
      const [kind, name] = fromEntryKey(key);
      if (TOPIC_KINDS.has(kind)) names.add(name);
    }
    const entries = new Map<string, ServiceEntry>();
    for (const name of [...names].sort())
      entries.set(name, { servers: this.servers(name), subscribers: this.subscribers(name) });
    return entries;
  }

  /** Each change, once the registry reflects it; `nodeDown` ones in the `nodeDown` delivery. */
  get services$(): Observable<ServicesChange> {
    return this.changes.asObservable();
  }

  /** `servers(topic)` now, then on each change of it. */
  servers$(topic: ServiceTopic): Observable<readonly string[]> {
    const name = nameOf(topic);
    return this.ticks.pipe(
      startWith(undefined),
      map(() => this.servers(name)),
      distinctUntilChanged(sameNodes),
    );
  }

  /**
   * Resolves with the servers once `count` (default 1) nodes serve `topic`; rejects with
   * `ERR_WAIT_TIMEOUT` after `timeoutMs` (default 30 s), with the signal's reason when it aborts,
   * and with `ERR_CLUSTER_STOPPED` when the registry closes.
   */
  waitForServers(topic: ServiceTopic, options: WaitForServersOptions = {}): Promise<string[]> {
    const name = nameOf(topic);
    const count = options.count ?? 1;
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    checkInteger('waitForServers.count', count, 1);
    checkMilliseconds('waitForServers.timeoutMs', timeoutMs);
    const { signal } = options;
    return new Promise<string[]>((resolve, reject) => {
      const now = this.servers(name);
      if (now.length >= count) return resolve(now);
      if (this.closed)
        return reject(new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped()));
      if (signal?.aborted === true) return reject(signal.reason as Error);
      const finish = (): void => {
        clearTimeout(timer);
        subscription.unsubscribe();
        signal?.removeEventListener('abort', aborted);
      };
      const aborted = (): void => {
        finish();
        reject(signal!.reason as Error);
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new GenClusterError(
            'ERR_WAIT_TIMEOUT',
            PrimitivesMessages.waitForServersTimeout(
              name,
              count,
              timeoutMs,
              this.servers(name).length,
            ),
          ),
        );
      }, timeoutMs);
      timer.unref();
      const subscription = this.ticks.subscribe({
        next: () => {
          const servers = this.servers(name);
          if (servers.length < count) return;
          finish();
          resolve(servers);
        },
        complete: () => {
          finish();
          reject(new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped()));
        },
      });
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  /**
   * Announces that this node holds the entry `name` of `kind` (a process group it joined, a
   * leadership term): peers list it within one delta, as they list topics. Idempotent; a no-op once
   * closed, and not announced after a drain started.
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` for an unknown kind, a name that is empty,
   * longer than 200 characters or starts with `$gc.`; `ERR_TOO_MANY_ENTRIES` when this node
   * already announces as many entries (topics included) as a peer keeps of one node (10,000).
   */
  announce(kind: RegistryEntryKind, name: string): void {
    checkEntry(kind, name);
    if (this.closed) return;
    const key = entryKey(ENTRY_WIRE_KIND[kind], name);
    const local = this.sync.table.entriesOf(this.self);
    if (local.has(key)) return;
    if (local.size >= MAX_REGISTRY_ENTRIES) throw entriesFull(kind, name, MAX_REGISTRY_ENTRIES);
    this.sync.localChanged(key, true);
  }

  /**
   * Withdraws this node's entry `name` of `kind`; idempotent (nothing happens when it holds none).
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` as {@link announce}.
   */
  withdraw(kind: RegistryEntryKind, name: string): void {
    checkEntry(kind, name);
    this.sync.localChanged(entryKey(ENTRY_WIRE_KIND[kind], name), false);
  }

  /**
   * The nodes (this one included) holding the entry `name` of `kind`, sorted; `[]` when none. The
   * same array until the registry changes: never modify it.
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` as {@link announce}.
   */
  nodesOf(kind: RegistryEntryKind, name: string): readonly string[] {
    checkEntry(kind, name);
    return this.sync.table.nodesOf(entryKey(ENTRY_WIRE_KIND[kind], name));
  }

  /**
   * Every name of `kind` some node (this one included) holds, sorted.
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` for an unknown kind.
   */
  names(kind: RegistryEntryKind): string[] {
    checkEntryKind(kind);
    const wire = ENTRY_WIRE_KIND[kind];
    const names: string[] = [];
    for (const key of this.sync.table.keys()) {
      const [keyKind, name] = fromEntryKey(key);
      if (keyKind === wire) names.push(name);
    }
    return names.sort();
  }

  /**
   * Each change of a node's group and term entries, once the registry reflects it, with the rules
   * of {@link services$}: a node's changes in order, `nodeDown` ones in the `nodeDown` delivery.
   * Changes of topics only are not emitted here.
   */
  get entries$(): Observable<RegistryEntryChange> {
    return this.entryChanges.asObservable();
  }

  /**
   * The owner of `key` (rendezvous hashing): among this node and every member when `topic` is
   * unset (older nodes included: they are members), else among `servers(topic)`. `undefined`
   * when there is no candidate. Routing, not a lock: two nodes may briefly disagree.
   */
  ownerOf(key: ServiceKey, options: OwnerOptions = {}): string | undefined {
    checkServiceKey('ownerOf.key', key);
    return owner(key, this.candidates(options));
  }

  /** The first `count` owners of `key` in rank order (replicas). */
  ownersOf(key: ServiceKey, count: number, options: OwnerOptions = {}): string[] {
    checkServiceKey('ownersOf.key', key);
    checkInteger('ownersOf.count', count, 0);
    if (count === 0) return [];
    return rank(key, this.candidates(options)).slice(0, count);
  }

  /**
   * Stops routing to `node` for `topic` until that node next says something of the topic (it
   * answered ERR_NO_HANDLER: the entry is stale). Used by `call`.
   * @internal
   */
  suppress(node: string, topic: string): void {
    if (this.sync.suppress(node, entryKey(KIND_HANDLER, topic))) this.ticks.next();
  }

  /**
   * Withdraws this node's topics from every peer running the registry, as requests they
   * acknowledge (bounded by `ackTimeoutMs`, 2 s), then waits for the requests being served to
   * finish (bounded by `timeoutMs`, 10 s, both included). Later registrations are not announced,
   * and a peer asking for this node's table gets an empty one. Call it before `cluster.leave()`.
   * A second call returns the first one's result.
   */
  drain(options?: DrainOptions): Promise<DrainResult> {
    if (this.drained !== undefined) return this.drained;
    let bounds: ReturnType<typeof drainBounds>;
    try {
      bounds = drainBounds(options);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.drained = runDrain(
      { sync: this.sync, messaging: this.options.messaging, logger: this.options.logger },
      bounds,
    );
    return this.drained;
  }

  /** Stops the registry (timers, subscriptions, internal handlers). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription.unsubscribe();
    for (const off of this.teardown.splice(0)) off();
    this.sync.close();
    this.ticks.complete();
    this.changes.complete();
    this.entryChanges.complete();
  }

  private candidates(options: OwnerOptions): readonly string[] {
    if (options.topic !== undefined) return this.serversView(options.topic);
    const { cluster } = this.options;
    return [cluster.self, ...cluster.nodes()];
  }

  /** Splits a table change into its topics (services$) and its generic entries (entries$). */
  private onChange(change: SyncChange): void {
    this.ticks.next();
    const { node, reason } = change;
    const added = servedTopics(change.added);
    const removed = servedTopics(change.removed);
    // A sync is news even when empty (the node's table arrived); an entries-only change is not.
    const entriesOnly =
      added.length === 0 && removed.length === 0 && change.added.length + change.removed.length > 0;
    if (reason === 'sync' || !entriesOnly) this.changes.next({ node, reason, added, removed });
    const entriesAdded = registryEntries(change.added);
    const entriesRemoved = registryEntries(change.removed);
    if (entriesAdded.length > 0 || entriesRemoved.length > 0)
      this.entryChanges.next({ node, reason, added: entriesAdded, removed: entriesRemoved });
  }
}

/** The name of a topic given by name or as a `Topic`. */
function nameOf(topic: ServiceTopic): string {
  const name = topicName(topic);
  if (typeof name !== 'string') throw invalidOption('topic', topic, 'a topic name or a Topic');
  return name;
}
