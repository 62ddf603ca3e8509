// Length-prefixed frames for the raw net.Socket baseline: [u32 BE length][body]; the first body
// byte is the operation. Used by the raw echo server and client only.
export const OP_ECHO = 0;
export const OP_SINK = 1;
export const OP_COUNT = 2;

/** A frame of `bytes` body bytes (at least 1) with operation `op`. */
export function makeFrame(op, bytes) {
  const body = Math.max(1, bytes);
  const frame = Buffer.alloc(4 + body, 0x78);
  frame.writeUInt32BE(body, 0);
  frame[4] = op;
  return frame;
}

/**
 * Splits a byte stream into frames, calling `onFrame(frame, body)` with views into the received
 * chunk (copied only when a frame straddles chunks). Linear in the bytes received.
 */
export function frameReader(onFrame) {
  let pending = null;
  return chunk => {
    let buf = chunk;
    if (pending) {
      buf = Buffer.concat([pending, chunk]);
      pending = null;
    }
    let offset = 0;
    const end = buf.length;
    while (end - offset >= 4) {
      const length = buf.readUInt32BE(offset);
      if (end - offset - 4 < length) break;
      onFrame(buf.subarray(offset, offset + 4 + length), buf[offset + 4]);
      offset += 4 + length;
    }
    if (offset < end) pending = Buffer.from(buf.subarray(offset));
  };
}
