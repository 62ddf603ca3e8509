import { Controller, Get, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { ClusterService, GenClusterModule, TcpDist } from '../src/index.js';

/** One membership change, as `GET /cluster/events` shows it. */
export interface MembershipChange {
  readonly at: string;
  readonly type: 'nodeUp' | 'nodeDown';
  readonly node: string;
  readonly reason?: string;
}

/** Keeps the last membership changes, to show who came and went, and why. */
@Injectable()
export class MembershipLog implements OnModuleInit {
  readonly changes: MembershipChange[] = [];

  constructor(private readonly cluster: ClusterService) {}

  onModuleInit(): void {
    this.cluster.events$.subscribe(event => {
      if (event.type !== 'nodeUp' && event.type !== 'nodeDown') return;
      const at = new Date().toISOString();
      this.changes.push(
        event.type === 'nodeDown'
          ? { at, type: event.type, node: event.node, reason: event.reason }
          : { at, type: event.type, node: event.node },
      );
      if (this.changes.length > 100) this.changes.shift();
    });
  }
}

/** Serves what this node sees of the cluster. */
@Controller('cluster')
export class ClusterController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly log: MembershipLog,
  ) {}

  /**
   * `{"self":"name@host","members":[...],"namespace":"..."}`; members exclude self, like Erlang's
   * `nodes()`; `namespace` is the cluster namespace of the TCP dist (absent with no cluster).
   */
  @Get()
  view(): { self: string; members: string[]; namespace?: string } {
    const dist = this.cluster.engine?.strategies.dist;
    const namespace = dist instanceof TcpDist ? dist.namespace : undefined;
    return { self: this.cluster.self, members: this.cluster.nodes(), namespace };
  }

  /** The nodes the last good discovery answer named (connected or not). */
  @Get('discovered')
  discovered(): string[] {
    return this.cluster.discovered();
  }

  /** The last 100 membership changes seen by this node. */
  @Get('events')
  events(): readonly MembershipChange[] {
    return this.log.changes;
  }
}

/** The sample app: one cluster, configured from the `GEN_CLUSTER_*` environment. */
@Module({
  imports: [GenClusterModule.forRoot()],
  controllers: [ClusterController],
  providers: [MembershipLog],
})
export class AppModule {}
