export {
  ENVELOPE_HEADER_BYTES,
  type Envelope,
  EnvelopeKind,
  MAX_TOPIC_BYTES,
  decodeEnvelope,
  encodeEnvelope,
  envelopeLength,
} from './envelope.js';
export {
  MAX_HEADERS,
  MAX_HEADER_BYTES,
  MAX_HEADER_KEY_BYTES,
  MAX_HEADER_VALUE_BYTES,
  decodeHeaders,
  encodeHeaders,
} from './envelope-headers.js';
export { type RemoteFailure, isRemoteError } from './is-remote-error.js';
export { type HandlerFailureLogLevel, MappedHandlerError } from './mapped-handler-error.js';
export * from './messaging.errors.js';
export {
  DEFAULT_MESSAGING_OPTIONS,
  type HandlerRegistrationOptions,
  type MessageTransport,
  Messaging,
  type MessagingOptions,
} from './messaging.js';
export { ZERO_MESSAGING_STATS } from './messaging-stats.js';
export {
  DEFAULT_MAX_PAYLOAD_DEPTH,
  DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES,
  MAX_PAYLOAD_DEPTH_LIMIT,
  type PayloadCodec,
  type PayloadCodecKind,
  type PayloadCodecLimits,
  createPayloadCodec,
  structuredLimit,
} from './payload-codec.js';
export {
  RESERVED_TOPIC_PREFIX,
  type Topic,
  type TopicLike,
  type TopicRequest,
  type TopicResponse,
  defineTopic,
  topicName,
} from './topic.js';
