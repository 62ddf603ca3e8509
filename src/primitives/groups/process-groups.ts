/**
 * Process groups (Erlang's `pg`): named sets of nodes. A node joins a group by announcing a
 * registry entry of kind `group`, so the group's members are the nodes holding that entry, kept
 * by the service registry's replication (no second mechanism): eventually consistent, a node that
 * goes down leaves every group in the delivery of its `nodeDown`, and `publish` is a one-way send
 * to each member node.
 */
import {
  type Observable,
  Subject,
  type Subscription,
  defer,
  distinctUntilChanged,
  filter,
  map,
  startWith,
} from 'rxjs';
import {
  type ClusterControl,
  type ClusterLogger,
  type ClusterMessaging,
  CoreMessages,
  GenClusterError,
  RateLimitedLog,
} from '../../core/index.js';
import { defineTopic } from '../../distribution/index.js';
import { PrimitivesMessages } from '../primitives.messages.js';
import { type RegistryEntryChange, checkEntry, entriesFull } from '../registry/registry-entries.js';
import { MAX_REGISTRY_ENTRIES } from '../registry/registry-protocol.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import type { GroupsChange, PublishResult } from './groups.types.js';

/** Options of {@link ProcessGroups}. */
export interface ProcessGroupsOptions {
  /** This node (its name is a member of the groups it joins). */
  readonly cluster: Pick<ClusterControl, 'self'>;
  /** Carries `publish`, to other nodes and to this one. */
  readonly messaging: ClusterMessaging;
  /**
   * Where joins are announced and members learned; `undefined` for a cluster of one (no peers
   * ever: the Nest idle cluster), where groups are local to this node.
   */
  readonly registry: ServiceRegistry | undefined;
  /** Where failed sends of `publish` are logged (rate-limited); silent when unset. */
  readonly logger?: ClusterLogger;
}

/** Send failures that are the call's, not one node's: thrown, as `messaging.send` does. */
const CALLER_FAULTS = /^ERR_(PAYLOAD_|INVALID_TOPIC$|CLUSTER_STOPPED$)/;
/** The code recorded for a failure that carries none. */
const NO_CODE = 'ERR_SEND_FAILED';

const sameNodes = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((node, i) => node === b[i]);

const codeOf = (error: unknown): string => {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : NO_CODE;
};

/**
 * Named groups of nodes, cluster-wide. `join`/`leave` change this node's membership at once here
 * and on every peer within one registry delta; members are the nodes that joined, this one
 * included, sorted. Eventually consistent: two nodes may briefly see different members (a join in
 * flight, a partition), and converge once their links are up and the registry synced.
 */
export class ProcessGroups {
  /** The groups this node joined. */
  private readonly local = new Set<string>();
  private readonly changes = new Subject<GroupsChange>();
  private readonly subscription: Subscription | undefined;
  private readonly failures = new RateLimitedLog(60_000, 1_000);
  private closed = false;

  constructor(private readonly options: ProcessGroupsOptions) {
    this.subscription = options.registry?.entries$.subscribe(change => this.onEntries(change));
  }

  /**
   * This node joins `group` (idempotent): a member here at once, on peers within one delta.
   * A no-op once closed.
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` for a name that is empty, longer than 200
   * characters or starts with `$gc.`; `ERR_TOO_MANY_ENTRIES` past 10,000 groups (topics included
   * with a registry).
   */
  join(group: string): void {
    checkEntry('group', group);
    if (this.closed || this.local.has(group)) return;
    const { registry } = this.options;
    if (registry !== undefined) registry.announce('group', group);
    else if (this.local.size >= MAX_REGISTRY_ENTRIES)
      throw entriesFull('group', group, MAX_REGISTRY_ENTRIES);
    this.local.add(group);
    if (registry === undefined) this.emitLocal(group, 'join');
  }

  /**
   * This node leaves `group` (idempotent; nothing happens when it is not a member). A no-op once
   * closed.
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` as {@link join}.
   */
  leave(group: string): void {
    checkEntry('group', group);
    if (this.closed || !this.local.delete(group)) return;
    const { registry } = this.options;
    if (registry !== undefined) registry.withdraw('group', group);
    else this.emitLocal(group, 'leave');
  }

  /**
   * The nodes in `group` as this node knows them (this node included when it joined), sorted;
   * `[]` when none.
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` as {@link join}.
   */
  members(group: string): string[] {
    checkEntry('group', group);
    const { registry } = this.options;
    if (registry !== undefined) return [...registry.nodesOf('group', group)];
    return this.local.has(group) ? [this.options.cluster.self] : [];
  }

  /** The groups this node joined, sorted. */
  joined(): string[] {
    return [...this.local].sort();
  }

  /** Every group with at least one member, by name (sorted), with its members (sorted). */
  groups(): ReadonlyMap<string, readonly string[]> {
    const { registry } = this.options;
    const names = registry !== undefined ? registry.names('group') : this.joined();
    return new Map(names.map(group => [group, this.members(group)]));
  }

  /**
   * Each change of a group's members, once `members()` reflects it: one per group and node. A
   * node that goes down leaves every group in the same delivery as its `nodeDown` event. Completes
   * on {@link close}.
   */
  get groups$(): Observable<GroupsChange> {
    return this.changes.asObservable();
  }

  /**
   * `members(group)` at subscription, then each distinct change of it.
   * @throws RegistryEntryError `ERR_INVALID_ENTRY` as {@link join}.
   */
  members$(group: string): Observable<readonly string[]> {
    checkEntry('group', group);
    return defer(() =>
      this.changes.pipe(
        filter(change => change.group === group),
        map(change => change.members),
        startWith(this.members(group)),
        distinctUntilChanged(sameNodes),
      ),
    );
  }

  /**
   * Sends `payload` on `topic` (one-way) to each member node of `group` as this node sees them,
   * this node included when it joined, at most once per node; the receivers' handlers and
   * subscribers of `topic` get it, as with `send`. Per sender and receiver in order; no order
   * across senders. A member whose link refuses it (went down, queue full) is reported in
   * `failed` with the error's code, and the others still get it.
   * @throws InvalidTopicError for a topic that is not a valid application topic (empty, over
   * 1,024 bytes, or on `$gc.`); PayloadError when the payload cannot be encoded;
   * RegistryEntryError `ERR_INVALID_ENTRY` for a bad group name; `ERR_CLUSTER_STOPPED` once closed.
   */
  publish(group: string, topic: string, payload: unknown): PublishResult {
    if (this.closed) throw new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped());
    defineTopic(topic);
    const sentTo: string[] = [];
    const failed: { node: string; code: string }[] = [];
    for (const node of this.members(group)) {
      try {
        this.options.messaging.send(node, topic, payload);
        sentTo.push(node);
      } catch (error) {
        const code = codeOf(error);
        if (CALLER_FAULTS.test(code)) throw error;
        failed.push({ node, code });
        this.failures.write(
          `publish|${node}`,
          PrimitivesMessages.groupPublishFailed(group, node, topic, code),
          message => this.options.logger?.warn(message),
        );
      }
    }
    return { sentTo, failed };
  }

  /** Stops following the registry and completes the streams. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    this.changes.complete();
  }

  /** One change per group entry of the registry change, after the registry reflects it. */
  private onEntries(change: RegistryEntryChange): void {
    const { node, reason } = change;
    for (const [entries, joined] of [
      [change.added, true],
      [change.removed, false],
    ] as const)
      for (const entry of entries) {
        if (entry.kind !== 'group') continue;
        this.changes.next({
          group: entry.name,
          members: this.members(entry.name),
          node,
          reason: reason === 'sync' || reason === 'nodeDown' ? reason : joined ? 'join' : 'leave',
        });
      }
  }

  private emitLocal(group: string, reason: 'join' | 'leave'): void {
    this.changes.next({
      group,
      members: this.members(group),
      node: this.options.cluster.self,
      reason,
    });
  }
}
