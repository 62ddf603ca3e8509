export {
  ENVELOPE_HEADER_BYTES,
  type Envelope,
  EnvelopeKind,
  MAX_TOPIC_BYTES,
  decodeEnvelope,
  encodeEnvelope,
  envelopeLength,
} from './envelope.js';
export * from './messaging.errors.js';
export {
  DEFAULT_MESSAGING_OPTIONS,
  type MessageTransport,
  Messaging,
  type MessagingOptions,
} from './messaging.js';
export {
  DEFAULT_MAX_PAYLOAD_DEPTH,
  MAX_PAYLOAD_DEPTH_LIMIT,
  type PayloadCodec,
  type PayloadCodecKind,
  type PayloadCodecLimits,
  createPayloadCodec,
} from './payload-codec.js';
