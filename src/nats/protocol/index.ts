/**
 * The NATS wire protocol of gen-cluster: subjects, presence announcements and their replay guard,
 * and message frames (authenticated, replay-protected, fragmented over the server's payload
 * limit). Pure: no client, no clock. Used by the NATS dist and NatsDiscovery.
 */
export { type NatsSubjects, natsSubjects, namespaceToken, newIncarnation } from './subjects.js';
export {
  MAX_PRESENCE_BYTES,
  type PresenceAnnouncement,
  type PresenceDecode,
  type PresenceKind,
  decodePresence,
  encodePresence,
  isPresencePayload,
} from './presence-codec.js';
export { DEFAULT_PRESENCE_NODES, PresenceReplayGuard } from './presence-replay.js';
export { FrameWriter, type FrameWriterOptions, type MessageAuth } from './frame-writer.js';
export {
  DEFAULT_MAX_SENDERS,
  FrameReader,
  type FrameReaderOptions,
  type FrameRefusal,
  type FrameResult,
} from './frame-reader.js';
export { REMEMBERED_INCARNATIONS } from './incarnation-history.js';
