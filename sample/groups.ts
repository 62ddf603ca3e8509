import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Injectable,
  Param,
  Post,
} from '@nestjs/common';
import {
  ClusterContext,
  ClusterService,
  GenClusterError,
  type MessageContext,
  OnClusterMessage,
  Payload,
  type PublishResult,
  defineTopic,
} from '../src/index.js';

/** What `POST /cluster/groups/:group/publish` sends to each member of the group. */
export interface GroupMessage {
  readonly group: string;
  readonly body: unknown;
}

/** `sample.group`: published to a group's members by `POST /cluster/groups/:group/publish`. */
export const GroupTopic = defineTopic<GroupMessage, void>('sample.group');

/** One message this node received as a member of a group. */
export interface GroupReceipt {
  readonly at: string;
  readonly from: string;
  readonly group: string;
  readonly body: unknown;
}

/** The answer of the join, leave and members routes. */
export interface GroupAnswer {
  readonly group: string;
  /** The group's members as this node sees them, sorted (this node included when it joined). */
  readonly members: string[];
}

/** How many receipts a node keeps (the oldest go first). */
const MAX_RECEIPTS = 100;

/** Keeps what this node received on `sample.group`. */
@Injectable()
export class GroupReceipts {
  /** The last 100 receipts, oldest first. */
  readonly receipts: GroupReceipt[] = [];

  @OnClusterMessage(GroupTopic)
  received(@Payload() message: GroupMessage, @ClusterContext() context: MessageContext): void {
    this.receipts.push({
      at: new Date().toISOString(),
      from: context.from,
      group: String(message?.group),
      body: message?.body,
    });
    if (this.receipts.length > MAX_RECEIPTS) this.receipts.shift();
  }
}

/** Process groups from outside: join, leave, who is in a group, publish to it, what arrived. */
@Controller('cluster/groups')
export class GroupsController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly received: GroupReceipts,
  ) {}

  @Post(':group/join')
  join(@Param('group') group: string): GroupAnswer {
    return this.answer(group, () => this.cluster.groups.join(group));
  }

  @Post(':group/leave')
  leave(@Param('group') group: string): GroupAnswer {
    return this.answer(group, () => this.cluster.groups.leave(group));
  }

  @Get(':group')
  members(@Param('group') group: string): GroupAnswer {
    return this.answer(group, () => undefined);
  }

  /** Sends the JSON body to every member of the group (this node too when it joined). */
  @Post(':group/publish')
  publish(@Param('group') group: string, @Body() body: unknown): PublishResult {
    return refusedAs400(() => this.cluster.groups.publish(group, GroupTopic.name, { group, body }));
  }

  /** What this node received as a member of `group`, oldest first. */
  @Get(':group/received')
  receipts(@Param('group') group: string): GroupReceipt[] {
    return this.received.receipts.filter(receipt => receipt.group === group);
  }

  private answer(group: string, change: () => void): GroupAnswer {
    return refusedAs400(() => {
      change();
      return { group, members: this.cluster.groups.members(group) };
    });
  }
}

/** Codes of a group name the cluster refuses (empty, reserved, too long). */
const REFUSED_NAME: ReadonlySet<string> = new Set(['ERR_INVALID_ENTRY', 'ERR_INVALID_CONFIG']);

/** A group name the cluster refuses is the caller's error: a 400 with `{ code, message }`. */
function refusedAs400<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof GenClusterError && REFUSED_NAME.has(error.code))
      throw new BadRequestException({ code: error.code, message: error.message }, { cause: error });
    throw error;
  }
}
