/**
 * Shared by the service registry specs (src/primitives/registry/*.spec.ts): registries on real
 * `Messaging` instances of a {@link MemoryNetwork}, each with a scripted cluster whose `events$`
 * the spec drives (nodeUp/nodeDown), as the engine's outbox would.
 */
import { Subject } from 'rxjs';
import type { ClusterEvent, NodeDownReason } from '../../src/core/index.js';
import type { Messaging } from '../../src/distribution/messaging/messaging.js';
import {
  type RegistryTimings,
  ServiceRegistry,
} from '../../src/primitives/registry/service-registry.js';
import { MemoryNetwork, type TestLogger } from './messaging-harness.js';

/** A cluster whose membership the spec scripts. */
export class ScriptedCluster {
  private readonly events = new Subject<ClusterEvent>();
  private readonly members = new Set<string>();
  readonly events$ = this.events.asObservable();

  constructor(readonly self: string) {}

  nodes(): string[] {
    return [...this.members].sort();
  }

  up(node: string): void {
    if (this.members.has(node)) return;
    this.members.add(node);
    this.events.next({ type: 'nodeUp', node, peer: { node } });
  }

  down(node: string, reason: NodeDownReason = 'connectionClosed'): void {
    if (!this.members.delete(node)) return;
    this.events.next({ type: 'nodeDown', node, reason });
  }
}

/** One node of a {@link RegistryNet}. */
export interface RegistryNode {
  readonly name: string;
  readonly messaging: Messaging;
  readonly cluster: ScriptedCluster;
  readonly registry: ServiceRegistry | undefined;
  readonly logger: TestLogger;
}

/** Nodes with registries (or without: an older node) over one {@link MemoryNetwork}. */
export class RegistryNet {
  readonly network = new MemoryNetwork();
  readonly nodes = new Map<string, RegistryNode>();

  constructor(private readonly timings: Partial<RegistryTimings> = {}) {}

  /** A node; `registry: false` makes an older node (messaging without a registry). */
  add(name: string, options: { registry?: boolean } = {}): RegistryNode {
    const messaging = this.network.add(name);
    const logger = this.network.logger(name);
    const cluster = new ScriptedCluster(name);
    const registry =
      options.registry === false
        ? undefined
        : new ServiceRegistry({ cluster, messaging, logger, timings: this.timings });
    const node = { name, messaging, cluster, registry, logger };
    this.nodes.set(name, node);
    return node;
  }

  /** Both nodes see each other come up (`a` first). */
  link(a: RegistryNode, b: RegistryNode): void {
    a.cluster.up(b.name);
    b.cluster.up(a.name);
  }

  /** Both nodes see each other go down. */
  cut(a: RegistryNode, b: RegistryNode, reason: NodeDownReason = 'connectionClosed'): void {
    a.cluster.down(b.name, reason);
    b.cluster.down(a.name, reason);
  }

  close(): void {
    for (const node of this.nodes.values()) node.registry?.close();
    this.network.close();
  }
}
