import { Injectable } from '@nestjs/common';
import { GenClusterError, InvalidConfigError } from '../core/index.js';
import { NestMessages } from './gen-cluster.messages.js';

/**
 * What the clusters of one application have claimed: names, node names and fixed dist ports.
 * Two clusters may not share any of them (each cluster is a node of its own); a clash fails the
 * bootstrap naming both clusters. @internal
 */
@Injectable()
export class GenClusterNameRegistry {
  private readonly names = new Set<string>();
  private readonly nodes = new Map<string, string>();
  private readonly ports = new Map<number, string>();

  register(name: string): void {
    if (this.names.has(name)) {
      throw new GenClusterError('ERR_DUPLICATE_CLUSTER_NAME', NestMessages.duplicateCluster(name));
    }
    this.names.add(name);
  }

  /** Claims a node name and, when fixed, a dist port for the cluster `name`. */
  claim(name: string, node: string, port: number | undefined): void {
    const nodeOwner = this.nodes.get(node);
    if (nodeOwner !== undefined && nodeOwner !== name) {
      throw new InvalidConfigError(NestMessages.duplicateNode(node, nodeOwner, name), {
        option: 'node',
      });
    }
    if (port !== undefined && port !== 0) {
      const portOwner = this.ports.get(port);
      if (portOwner !== undefined && portOwner !== name) {
        throw new InvalidConfigError(NestMessages.duplicatePort(port, portOwner, name), {
          option: 'dist.port',
        });
      }
      this.ports.set(port, name);
    }
    this.nodes.set(node, name);
  }
}
