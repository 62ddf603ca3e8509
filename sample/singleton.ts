import { Injectable, Logger } from '@nestjs/common';
import { CronExpression, Cron } from '@nestjs/schedule';
import {
  ClusterService,
  ClusterSingleton,
  type OnSingletonStart,
  type OnSingletonStop,
  type SingletonContext,
} from '../src/index.js';

/** The name of the sample's singleton, as `GET /cluster/leader` shows it. */
export const SAMPLE_SINGLETON = 'sample-heartbeat';
/** Set to `1` to log each tick of the leader's job at `log` level (otherwise at `debug`). */
export const SAMPLE_SINGLETON_TICKS = 'SAMPLE_SINGLETON_TICKS';

/** The sample singleton's log lines (the real-process tests read the first two). */
export const SampleSingletonMessages = {
  started: (self: string, term: number) =>
    `singleton ${SAMPLE_SINGLETON} started on ${self} (term ${term})`,
  stopped: (self: string) => `singleton ${SAMPLE_SINGLETON} stopped on ${self}`,
  tick: (self: string, term: number) => `singleton tick on ${self} (term ${term})`,
} as const;

/**
 * The sample's singleton (class form): started on the node that leads, stopped when leadership
 * moves away. It only says so, one line each, which the real-process tests read.
 */
@Injectable()
@ClusterSingleton(SAMPLE_SINGLETON)
export class SampleHeartbeat implements OnSingletonStart, OnSingletonStop {
  private readonly logger = new Logger('SampleSingleton');
  private runningTerm: number | undefined;

  constructor(private readonly cluster: ClusterService) {}

  /** Whether it runs on this node now. */
  get running(): boolean {
    return this.runningTerm !== undefined;
  }

  onSingletonStart({ term }: SingletonContext): void {
    this.runningTerm = term;
    this.logger.log(SampleSingletonMessages.started(this.cluster.self, term));
  }

  onSingletonStop(): void {
    this.runningTerm = undefined;
    this.logger.log(SampleSingletonMessages.stopped(this.cluster.self));
  }
}

/**
 * A scheduled job that runs on the leader only (method form): every node's timer fires each
 * second, the gate lets the leader's call through.
 */
@Injectable()
export class SampleTicks {
  private readonly logger = new Logger('SampleSingleton');
  private readonly loud = process.env[SAMPLE_SINGLETON_TICKS] === '1';

  constructor(private readonly cluster: ClusterService) {}

  @Cron(CronExpression.EVERY_SECOND)
  @ClusterSingleton()
  tick(): void {
    const line = SampleSingletonMessages.tick(this.cluster.self, this.cluster.term);
    if (this.loud) this.logger.log(line);
    else this.logger.debug(line);
  }
}
