import { Injectable, UsePipes, ValidationPipe } from '@nestjs/common';
import {
  ClusterContext,
  ClusterHandler,
  ClusterService,
  type MessageContext,
  OnClusterMessage,
  Payload,
  defineTopic,
} from '../src/index.js';
import { type Announcement, type Greeting, GreetingDto } from './greeting.dto.js';

/** `sample.greet`: asked by `GET /cluster/greet/:node?name=`, answered by that node. */
export const Greet = defineTopic<GreetingDto, Greeting>('sample.greet');
/** `sample.announce`: broadcast by `POST /cluster/announce`, kept by every other node. */
export const Announce = defineTopic<Announcement, void>('sample.announce');

/** One announcement this node received, as `GET /cluster/announcements` shows it. */
export interface ReceivedAnnouncement {
  readonly at: string;
  readonly from: string;
  readonly text: string;
}

/** The sample's cluster handlers: one request handler and one subscriber. */
@Injectable()
export class SampleMessaging {
  /** The last 20 announcements received, oldest first. */
  readonly announcements: ReceivedAnnouncement[] = [];

  constructor(private readonly cluster: ClusterService) {}

  /** Answers a greeting; a payload `ValidationPipe` refuses reaches the caller as a 400. */
  @ClusterHandler(Greet)
  @UsePipes(new ValidationPipe())
  greet(@Payload() dto: GreetingDto, @ClusterContext() context: MessageContext): Greeting {
    return {
      greeting: `Hello, ${dto.name}, from ${this.cluster.self}`,
      servedBy: this.cluster.self,
      from: context.from,
    };
  }

  /** Keeps the announcements other nodes broadcast. */
  @OnClusterMessage(Announce)
  announced(
    @Payload() announcement: Announcement,
    @ClusterContext() context: MessageContext,
  ): void {
    this.announcements.push({
      at: new Date().toISOString(),
      from: context.from,
      text: String(announcement.text),
    });
    if (this.announcements.length > 20) this.announcements.shift();
  }
}
