import { Injectable } from '@nestjs/common';
import { GenClusterError } from '../core/index.js';
import { NestMessages } from './gen-cluster.messages.js';

/** The cluster names registered in one application, to refuse duplicates. @internal */
@Injectable()
export class GenClusterNameRegistry {
  private readonly names = new Set<string>();

  register(name: string): void {
    if (this.names.has(name)) {
      throw new GenClusterError('ERR_DUPLICATE_CLUSTER_NAME', NestMessages.duplicateCluster(name));
    }
    this.names.add(name);
  }
}
