import { Injectable } from '@nestjs/common';
import { type ClusterEvent, OnNodeDown, OnNodeUp } from '../src/index.js';

/** One membership change, as `GET /cluster/events` shows it. */
export interface MembershipChange {
  readonly at: string;
  readonly type: 'nodeUp' | 'nodeDown';
  readonly node: string;
  readonly reason?: string;
}

/** Keeps the last membership changes, to show who came and went, and why. */
@Injectable()
export class MembershipLog {
  readonly changes: MembershipChange[] = [];

  /** A node connected. */
  @OnNodeUp()
  nodeUp(event: ClusterEvent): void {
    if (event.type === 'nodeUp')
      this.keep({ at: new Date().toISOString(), type: event.type, node: event.node });
  }

  /** A node went away, and why. */
  @OnNodeDown()
  nodeDown(event: ClusterEvent): void {
    if (event.type === 'nodeDown')
      this.keep({
        at: new Date().toISOString(),
        type: event.type,
        node: event.node,
        reason: event.reason,
      });
  }

  private keep(change: MembershipChange): void {
    this.changes.push(change);
    if (this.changes.length > 100) this.changes.shift();
  }
}
