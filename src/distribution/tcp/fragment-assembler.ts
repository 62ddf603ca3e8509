import { FRAGMENT_HEADER_BYTES, readFragmentHeader } from './fragment-header.js';
import { retainSlice } from './retain-slice.js';
import { ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Fragmented messages being reassembled at once from one peer. */
export const MAX_PARTIAL_MESSAGES = 64;

/**
 * Reassembles the fragmented messages of one link. Memory is bounded whatever the peer sends: at
 * most {@link MAX_PARTIAL_MESSAGES} messages in progress, and all of them together within
 * `maxMessageBytes` (a sender never exceeds it, see `SendQueue.flush`). Past either bound the
 * peer broke the protocol: {@link FragmentAssembler.push} throws a `ProtocolError` and the link
 * is closed.
 */
export class FragmentAssembler {
  private readonly partial = new Map<number, { parts: Buffer[]; bytes: number }>();
  private partialBytes = 0;

  /** @param maxMessageBytes bound of all reassemblies together (the link's largest message) */
  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes held in messages not yet complete. */
  get bytes(): number {
    return this.partialBytes;
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
    let entry = this.partial.get(id);
    if (!entry) {
      if (this.partial.size >= MAX_PARTIAL_MESSAGES) throw new ProtocolError(M.tooManyPartials());
      entry = { parts: [], bytes: 0 };
      this.partial.set(id, entry);
    }
    if (this.partialBytes + chunk.length > this.maxMessageBytes) {
      throw new ProtocolError(M.partialsTooLarge(this.maxMessageBytes));
    }
    entry.parts.push(chunk);
    entry.bytes += chunk.length;
    this.partialBytes += chunk.length;
    if (!last) return undefined;
    this.partial.delete(id);
    this.partialBytes -= entry.bytes;
    return entry.parts.length === 1 ? entry.parts[0]! : Buffer.concat(entry.parts, entry.bytes);
  }

  /** Drops every message in progress (the link closed). */
  clear(): void {
    this.partial.clear();
    this.partialBytes = 0;
  }
}
