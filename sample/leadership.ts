import { Controller, Get } from '@nestjs/common';
import { ClusterService } from '../src/index.js';
import { SAMPLE_SINGLETON, SampleHeartbeat } from './singleton.js';

/** The answer of `GET /cluster/leader`. */
export interface LeaderAnswer {
  /** The leader as this node sees it (`name@host`), `null` while there is none. */
  readonly leader: string | null;
  readonly self: string;
  /** The leader's term (0 when unknown). */
  readonly term: number;
  /** Whether this side has quorum (always `true` without `GEN_CLUSTER_EXPECTED_SIZE`). */
  readonly quorum: boolean;
  /** The sample singleton's name. */
  readonly singleton: string;
  /** Whether the sample singleton runs on this node. */
  readonly runningHere: boolean;
}

/** Shows leadership from outside: who leads, under which term, and where the singleton runs. */
@Controller('cluster')
export class LeaderController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly heartbeat: SampleHeartbeat,
  ) {}

  @Get('leader')
  leader(): LeaderAnswer {
    return {
      leader: this.cluster.leadership.leader() ?? null,
      self: this.cluster.self,
      term: this.cluster.term,
      quorum: this.cluster.hasQuorum(),
      singleton: SAMPLE_SINGLETON,
      runningHere: this.heartbeat.running,
    };
  }
}
