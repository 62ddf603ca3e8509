/**
 * Versions, sizes, limits and deadlines of the TCP dist handshake (the wire format they bound is
 * described in docs/protocol.md).
 */

/** Handshake protocol version spoken by this release. */
export const HANDSHAKE_PROTOCOL_VERSION = 1;
/** Deadline for each handshake step, enforced by the connection. */
export const DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS = 5_000;
/** Deadline for the whole handshake, enforced by the connection. */
export const DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS = 10_000;
/** Largest handshake message payload accepted (and sent). */
export const HANDSHAKE_MAX_PAYLOAD_BYTES = 8 * 1024;
/** `maxFrameBytes` for a frame decoder before authentication: a handshake message and its type. */
export const HANDSHAKE_MAX_FRAME_BYTES = HANDSHAKE_MAX_PAYLOAD_BYTES + 1;
/** Size of each nonce. */
export const HANDSHAKE_NONCE_BYTES = 32;
/** Longest node name, in bytes. */
export const MAX_NODE_NAME_BYTES = 255;
/** Longest incarnation, in characters (printable ASCII). */
export const MAX_INCARNATION_CHARS = 32;
/** Most capabilities one side may announce. */
export const MAX_CAPABILITIES = 32;
/** Longest capability, in characters (printable ASCII). */
export const MAX_CAPABILITY_CHARS = 64;
/**
 * The capability of envelope kinds 5 and 6 (messages carrying headers, such as a trace context):
 * they are sent only on a link whose peer announced it.
 */
export const CAPABILITY_HEADERS = 'headers';
/**
 * How far ahead of the receiver's clock a peer's `startedAt` may be; further is `malformed`. Clocks
 * of one cluster differ by seconds, so such a value comes from a broken clock or a broken sender,
 * and ordering leadership by it would mean nothing.
 */
export const MAX_STARTED_AT_AHEAD_MS = 24 * 60 * 60 * 1_000;
/** Largest value of the u32 fields (`heartbeatMs`, `failureTimeoutMs`). */
export const MAX_U32 = 0xffff_ffff;
/** Largest value of the u16 fields (versions, the listen port). */
export const MAX_U16 = 0xffff;

/** An incarnation: 1 to {@link MAX_INCARNATION_CHARS} printable ASCII characters. */
export const INCARNATION_PATTERN = new RegExp(`^[\\x21-\\x7e]{1,${MAX_INCARNATION_CHARS}}$`);
/** A capability: 1 to {@link MAX_CAPABILITY_CHARS} printable ASCII characters. */
export const CAPABILITY_PATTERN = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CAPABILITY_CHARS}}$`);
/** A refusal reason: a short lower-case token, safe to log and to count by. */
export const REASON_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
