import { constants } from 'node:buffer';
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

/** Told of each copy a {@link FragmentAssembler} makes (tests bound the largest one). */
export type CopyProbe = (bytes: number) => void;

interface Partial {
  /**
   * The message's bytes so far, in memory reserved for the largest message and grown as
   * fragments arrive: a resizable `ArrayBuffer` reserves address space only, and commits pages
   * as it grows, so each fragment is copied once, on arrival, and the message ends up in memory
   * of exactly its size.
   */
  readonly data: ArrayBuffer;
  bytes: number;
  /** When its first fragment arrived. */
  readonly startedAt: number;
  /** The link's byte count when its first fragment arrived. */
  readonly receivedAtStart: number;
  /** When its last fragment arrived, and the link's byte count then. */
  lastAt: number;
  receivedAtLast: number;
}

/** `ArrayBuffer` with resizing (ES2024), which the project's `lib` does not declare yet. */
interface Resizable extends ArrayBuffer {
  resize(byteLength: number): void;
}
type ResizableConstructor = new (
  byteLength: number,
  options: { maxByteLength: number },
) => Resizable;

const DEFAULT_CLOCK: AssemblerClock = { now: () => performance.now(), received: () => 0 };

/**
 * Reassembles the fragmented messages of one link. Memory is bounded whatever the peer sends: at
 * most {@link MAX_PARTIAL_MESSAGES} messages in progress, and all of them together within
 * `maxMessageBytes` (a sender never exceeds it, see `SendQueue.flush`). Past either bound the
 * peer broke the protocol: {@link FragmentAssembler.push} throws a `ProtocolError` and the link
 * is closed. Time is bounded too: {@link FragmentAssembler.overdue} finds a message past the
 * receive deadline (see `receive-deadline.ts`), and the link closes.
 *
 * No step copies more than one fragment: a fragment's bytes go into their message's memory as
 * they arrive (joining 32 MiB of parts at the end took 30 ms on a quiet machine, hundreds under
 * load). The message returned is a `Buffer` over all of that memory, so it pins nothing more.
 */
export class FragmentAssembler {
  private readonly partial = new Map<number, Partial>();
  private partialBytes = 0;
  /** Address space reserved per message (Node refuses buffers past `buffer.constants.MAX_LENGTH`). */
  private readonly reserve: number;

  /**
   * @param maxMessageBytes bound of all reassemblies together (the link's largest message)
   * @param clock the time and the link's received bytes, for {@link FragmentAssembler.overdue}
   * @param probe told of each copy, with its size
   */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly clock: AssemblerClock = DEFAULT_CLOCK,
    private readonly probe?: CopyProbe,
  ) {
    this.reserve = Math.min(maxMessageBytes, constants.MAX_LENGTH);
  }

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
    const chunk = payload.subarray(FRAGMENT_HEADER_BYTES);
    const now = this.clock.now();
    let entry = this.partial.get(id);
    if (!entry && this.partial.size >= MAX_PARTIAL_MESSAGES) {
      throw new ProtocolError(M.tooManyPartials());
    }
    if (this.partialBytes + chunk.length > this.maxMessageBytes) {
      throw new ProtocolError(M.partialsTooLarge(this.maxMessageBytes));
    }
    if (!entry) {
      if (last) return this.whole(chunk);
      // Address space only, committed as it grows. Each message may reach the whole limit (the
      // others in progress may complete meanwhile), so each reserves all of it.
      const data = new (ArrayBuffer as unknown as ResizableConstructor)(0, {
        maxByteLength: this.reserve,
      });
      const received = this.clock.received();
      entry = {
        data,
        bytes: 0,
        startedAt: now,
        lastAt: now,
        receivedAtStart: received,
        receivedAtLast: received,
      };
      this.partial.set(id, entry);
    }
    this.append(entry, chunk);
    entry.lastAt = now;
    entry.receivedAtLast = this.clock.received();
    this.partialBytes += chunk.length;
    if (!last) return undefined;
    this.partial.delete(id);
    this.partialBytes -= entry.bytes;
    return Buffer.from(entry.data, 0, entry.bytes);
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
      // Judged by what the link carried since the message began, not by its own bytes: the
      // sender interleaves its fragments with everything else queued, so on a busy link one
      // message may move at a fraction of the link's rate while the link itself is fast.
      const allowed = allowedMs(Math.max(entry.bytes, received - entry.receivedAtStart), limits);
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

  /** Drops every message in progress (the link closed); their memory goes with them. */
  clear(): void {
    this.partial.clear();
    this.partialBytes = 0;
  }

  /** A message in one fragment: its bytes as they came, unless they would pin a larger chunk. */
  private whole(chunk: Buffer): Buffer {
    const kept = retainSlice(chunk);
    if (kept !== chunk) this.probe?.(kept.length);
    return kept;
  }

  private append(entry: Partial, chunk: Buffer): void {
    if (chunk.length === 0) return;
    const at = entry.bytes;
    // Within the reservation, since all messages together stay within maxMessageBytes (past
    // `MAX_LENGTH` this throws the RangeError any Buffer of that size would).
    (entry.data as Resizable).resize(at + chunk.length);
    new Uint8Array(entry.data, at, chunk.length).set(chunk);
    entry.bytes += chunk.length;
    this.probe?.(chunk.length);
  }
}
