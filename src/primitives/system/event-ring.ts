import { type ClusterEvent, CoreMessages } from '../../core/index.js';
import type { RecordedEvent, SystemEventsPage } from './system.types.js';

/** How many events a node keeps for `$gc.sys.events`. */
export const EVENT_RING_CAPACITY = 200;

/** How many of the most recent events `$gc.sys.info` carries. */
export const INFO_EVENTS = 50;

/**
 * The last events of a node, numbered, for tools that poll them. Bounded, so a node that flaps
 * for days keeps a fixed amount; an error is kept as its message only (a stack would leak paths
 * and grow the answers).
 */
export class EventRing {
  private readonly events: RecordedEvent[] = [];
  private last = 0;

  constructor(
    private readonly capacity = EVENT_RING_CAPACITY,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The last event's sequence number (0 before any). */
  get seq(): number {
    return this.last;
  }

  /** Records one event and returns it as kept. */
  record(event: ClusterEvent): RecordedEvent {
    const recorded = toRecorded(event, ++this.last, this.now().toISOString());
    this.events.push(recorded);
    if (this.events.length > this.capacity) this.events.shift();
    return recorded;
  }

  /** The `count` most recent events, oldest first. */
  recent(count: number): RecordedEvent[] {
    return count <= 0 ? [] : this.events.slice(-count);
  }

  /**
   * Events after `since`, oldest first. `gap` says some events after `since` are no longer kept;
   * a `since` ahead of this node's count (it restarted) is read as 0.
   */
  since(since: number): SystemEventsPage {
    const from = Number.isSafeInteger(since) && since >= 0 && since <= this.last ? since : 0;
    const events = this.events.filter(e => e.seq > from);
    const first = events[0]?.seq ?? this.last + 1;
    return { seq: this.last, events, gap: first > from + 1 };
  }
}

function toRecorded(event: ClusterEvent, seq: number, at: string): RecordedEvent {
  switch (event.type) {
    case 'nodeDown':
      return { seq, at, type: event.type, node: event.node, reason: event.reason };
    case 'discoveryError':
      return { seq, at, type: event.type, message: event.error.message };
    case 'quorumChanged':
      return { seq, at, type: event.type, message: CoreMessages.quorumSummary(event.quorum) };
    case 'connectFailed':
      return { seq, at, type: event.type, node: event.node, message: event.error.message };
    case 'distDisconnected':
      return { seq, at, type: event.type, message: event.reason };
    case 'distConnected':
      return { seq, at, type: event.type, message: CoreMessages.distConnected(event.downForMs) };
    default:
      return { seq, at, type: event.type, node: event.node };
  }
}
