/**
 * The layout of a message frame: one NATS payload on a node's inbox carrying a whole message or
 * one fragment of it. Shared by {@link FrameWriter} and {@link FrameReader}.
 *
 * ```
 * off  size  field
 * 0    4     magic "GCNF" (0x47434e46)
 * 4    1     version = 1
 * 5    1     flags: bit 0 MAC (messageAuth 'hmac'), bit 1 FRAGMENT; other bits 0
 * 6    1     nameLen (1-255)
 * 7    1     reserved, 0
 * 8    8     from incarnation (the sender's start)
 * 16   8     to incarnation (the receiver's start: a frame replayed to another inbox is refused)
 * 24   8     seq u64 BE (1 to 2^53-1), +1 per payload the sender writes, whatever the destination
 * 32   8     FRAGMENT only: messageLength u32 BE | offset u32 BE (of this fragment in the message)
 * 32|40 n    sender node name, UTF-8
 * ..   *     body (the whole message, or this fragment's bytes of it)
 * ..   16    MAC flag only: HMAC-SHA256(key, every byte before it), first 16 bytes
 * ```
 *
 * Fragments of one message have consecutive seqs and ascending offsets: one writer makes them all
 * in one synchronous call, and they are published in order on one subject, which NATS keeps in
 * order for one connection.
 */

/** "GCNF": gen-cluster NATS frame. */
export const FRAME_MAGIC = 0x47434e46;
export const FRAME_VERSION = 1;
export const FLAG_MAC = 0x01;
export const FLAG_FRAGMENT = 0x02;
export const KNOWN_FLAGS = FLAG_MAC | FLAG_FRAGMENT;

export const OFFSET_FLAGS = 5;
export const OFFSET_NAME_LENGTH = 6;
export const OFFSET_RESERVED = 7;
export const OFFSET_FROM = 8;
export const OFFSET_TO = 16;
export const OFFSET_SEQ = 24;
/** Where the fragment fields are, in a fragment. */
export const OFFSET_FRAGMENT = 32;

/** The fixed header of a whole message (the name follows). */
export const HEADER_BYTES = 32;
/** What a fragment adds to {@link HEADER_BYTES}: message length and offset. */
export const FRAGMENT_FIELDS_BYTES = 8;

/** The longest node name a frame carries (one length byte). */
export const MAX_NAME_BYTES = 255;
/** The longest message a fragment can describe (u32 fields). */
export const MAX_FRAGMENTED_MESSAGE = 0xffff_ffff;
