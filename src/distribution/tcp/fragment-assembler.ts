import { FRAGMENT_HEADER_BYTES, readFragmentHeader } from './fragment-header.js';
import { type OverdueUnit, type ReceiveDeadlineLimits, allowedMs } from './receive-deadline.js';
import { retainSlice } from './retain-slice.js';
import { ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Fragmented messages being reassembled at once from one peer. */
export const MAX_PARTIAL_MESSAGES = 64;

/** What a {@link FragmentAssembler} reads from its link, for the receive deadline. */
export interface AssemblerClock {
  /** The current time (`performance.now()` by default). */
  now(): number;
  /** Bytes the link received so far (0 by default: a fragment gap is then never excused). */
  received(): number;
}

interface Partial {
  parts: Buffer[];
  bytes: number;
  /** When its first fragment arrived. */
  readonly startedAt: number;
  /** When its last fragment arrived, and the link's byte count then. */
  lastAt: number;
  receivedAtLast: number;
}

const DEFAULT_CLOCK: AssemblerClock = { now: () => performance.now(), received: () => 0 };

/**
 * Reassembles the fragmented messages of one link. Memory is bounded whatever the peer sends: at
 * most {@link MAX_PARTIAL_MESSAGES} messages in progress, and all of them together within
 * `maxMessageBytes` (a sender never exceeds it, see `SendQueue.flush`). Past either bound the
 * peer broke the protocol: {@link FragmentAssembler.push} throws a `ProtocolError` and the link
 * is closed. Time is bounded too: {@link FragmentAssembler.overdue} finds a message past the
 * receive deadline (see `receive-deadline.ts`), and the link closes.
 */
export class FragmentAssembler {
  private readonly partial = new Map<number, Partial>();
  private partialBytes = 0;

  /**
   * @param maxMessageBytes bound of all reassemblies together (the link's largest message)
   * @param clock the time and the link's received bytes, for {@link FragmentAssembler.overdue}
   */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly clock: AssemblerClock = DEFAULT_CLOCK,
  ) {}

  /** Bytes held in messages not yet complete. */
  get bytes(): number {
    return this.partialBytes;
  }

  /** Messages in progress. */
  get messages(): number {
    return this.partial.size;
  }

  /**
   * Takes one `DataFragment` payload (header included). Returns the whole message when this was
   * its last fragment, else `undefined`.
   * @throws ProtocolError for a truncated fragment or a peer past the bounds
   */
  push(payload: Buffer): Buffer | undefined {
    if (payload.length < FRAGMENT_HEADER_BYTES) throw new ProtocolError(M.truncatedFragment());
    const { id, last } = readFragmentHeader(payload);
    const chunk = retainSlice(payload.subarray(FRAGMENT_HEADER_BYTES));
    const now = this.clock.now();
    let entry = this.partial.get(id);
    if (!entry) {
      if (this.partial.size >= MAX_PARTIAL_MESSAGES) throw new ProtocolError(M.tooManyPartials());
      entry = { parts: [], bytes: 0, startedAt: now, lastAt: now, receivedAtLast: 0 };
      this.partial.set(id, entry);
    }
    if (this.partialBytes + chunk.length > this.maxMessageBytes) {
      throw new ProtocolError(M.partialsTooLarge(this.maxMessageBytes));
    }
    entry.parts.push(chunk);
    entry.bytes += chunk.length;
    entry.lastAt = now;
    entry.receivedAtLast = this.clock.received();
    this.partialBytes += chunk.length;
    if (!last) return undefined;
    this.partial.delete(id);
    this.partialBytes -= entry.bytes;
    return entry.parts.length === 1 ? entry.parts[0]! : Buffer.concat(entry.parts, entry.bytes);
  }

  /**
   * The first message in progress past the receive deadline at `now`: in progress for longer
   * than its bytes allow, or without a fragment for longer than the link's traffic since its last
   * one allows (see `receive-deadline.ts`). At most {@link MAX_PARTIAL_MESSAGES} are looked at.
   */
  overdue(now: number, limits: ReceiveDeadlineLimits): OverdueUnit | undefined {
    if (this.partial.size === 0) return undefined;
    const received = this.clock.received();
    for (const entry of this.partial.values()) {
      const age = now - entry.startedAt;
      const allowed = allowedMs(entry.bytes, limits);
      if (age > allowed) {
        return { unit: 'message', bytes: entry.bytes, elapsedMs: age, allowedMs: allowed };
      }
      const gap = now - entry.lastAt;
      const meanwhile = received - entry.receivedAtLast;
      const allowedGap = allowedMs(meanwhile, limits);
      if (gap > allowedGap) {
        return { unit: 'fragment', bytes: meanwhile, elapsedMs: gap, allowedMs: allowedGap };
      }
    }
    return undefined;
  }

  /** Drops every message in progress (the link closed). */
  clear(): void {
    this.partial.clear();
    this.partialBytes = 0;
  }
}
