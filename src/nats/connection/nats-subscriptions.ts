/**
 * The subscriptions of a {@link NatsLink}: kept by the link (not only by the client), so they are
 * made again on a new client connection, and each handler wrapped so that one that throws is
 * logged (rate-limited) instead of breaking the client's reader.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { type ClusterLogger, type RateLimitedLog, toError } from '../../core/index.js';
import { describeClientError } from './nats-client-setup.js';
import { NatsConnectionMessages as M } from './nats-connection.messages.js';

interface Entry {
  readonly subject: string;
  readonly handler: (payload: Uint8Array) => void;
  sub: Subscription | undefined;
}

/** The link's subscriptions, attached to one client connection at a time. */
export class NatsSubscriptions {
  private readonly entries = new Set<Entry>();
  private nc: NatsConnection | undefined;

  constructor(
    private readonly logger: ClusterLogger,
    private readonly log: RateLimitedLog,
  ) {}

  /** Adds a subscription (made at once when attached); the function returned removes it. */
  add(subject: string, handler: (payload: Uint8Array) => void): () => void {
    const entry: Entry = { subject, handler, sub: undefined };
    this.entries.add(entry);
    if (this.nc !== undefined) this.subscribe(this.nc, entry);
    return () => {
      if (!this.entries.delete(entry)) return;
      try {
        entry.sub?.unsubscribe();
      } catch {
        // the client is closed: nothing to undo
      }
      entry.sub = undefined;
    };
  }

  /** Makes every subscription on `nc` (a new client connection). */
  attach(nc: NatsConnection): void {
    this.nc = nc;
    for (const entry of this.entries) this.subscribe(nc, entry);
  }

  /** Forgets the client connection (it is gone; its subscriptions with it). */
  detach(): void {
    this.nc = undefined;
    for (const entry of this.entries) entry.sub = undefined;
  }

  private subscribe(nc: NatsConnection, entry: Entry): void {
    try {
      entry.sub = nc.subscribe(entry.subject, this.options(entry));
    } catch {
      // the client closed meanwhile: the next client connection subscribes again
      entry.sub = undefined;
    }
  }

  private options(entry: Entry): { callback: (error: Error | null, msg: Msg) => void } {
    const subject = entry.subject;
    const report = (error: unknown) =>
      this.log.write(`handler:${subject}`, M.handlerThrew(subject, toError(error).message), line =>
        this.logger.error(line, { event: 'natsHandlerThrew', error }),
      );
    return {
      callback: (error, msg) => {
        if (error) {
          this.log.write(
            `sub:${subject}`,
            M.subscriptionError(subject, describeClientError(error)),
            line => this.logger.error(line, { event: 'natsSubscriptionError' }),
          );
          return;
        }
        try {
          const result = entry.handler(msg.data) as unknown;
          if (result instanceof Promise) result.catch(report);
        } catch (thrown) {
          report(thrown);
        }
      },
    };
  }
}
