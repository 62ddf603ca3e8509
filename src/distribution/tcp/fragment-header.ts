/**
 * The 5-byte header that opens the payload of every `DataFragment` frame: the message id (u32)
 * and a flags byte whose low bit marks the last fragment. The sender writes it
 * (`send-queue.ts`), the receiver reads it (`fragment-assembler.ts`).
 */

/** Bytes of a fragment header: u32 message id + u8 flags. */
export const FRAGMENT_HEADER_BYTES = 5;

/** Flag of the last fragment of a message. */
export const FRAGMENT_FLAG_LAST = 1;

/** A fragment header for message `id`; `last` marks its final fragment. */
export function encodeFragmentHeader(id: number, last: boolean): Buffer {
  const header = Buffer.allocUnsafe(FRAGMENT_HEADER_BYTES);
  header.writeUInt32BE(id, 0);
  header[4] = last ? FRAGMENT_FLAG_LAST : 0;
  return header;
}

/** The id and last-flag of a fragment payload at least {@link FRAGMENT_HEADER_BYTES} long. */
export function readFragmentHeader(payload: Buffer): { id: number; last: boolean } {
  return { id: payload.readUInt32BE(0), last: (payload[4]! & FRAGMENT_FLAG_LAST) !== 0 };
}
