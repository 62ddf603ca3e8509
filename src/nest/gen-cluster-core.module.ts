import { Global, Module } from '@nestjs/common';
import { GenClusterNameRegistry } from './gen-cluster-name.registry.js';

/** One name registry per application, shared by every `forRoot`. @internal */
@Global()
@Module({ providers: [GenClusterNameRegistry], exports: [GenClusterNameRegistry] })
export class GenClusterCoreModule {}
