/**
 * Topics: the form every topic must have, the prefix reserved for the library's own topics, and
 * typed topics ({@link defineTopic}) that carry a request and a response type for the compiler.
 */
import { MAX_TOPIC_BYTES } from './envelope.js';
import { InvalidTopicError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';

/**
 * The prefix of the library's internal topics (registry, leadership, groups, tools). Handlers of
 * applications cannot register on it; sending to it stays allowed, so tools can ask internal
 * topics.
 */
export const RESERVED_TOPIC_PREFIX = '$gc.';

/** Carries a topic's types; never present at run time. */
declare const topicTypes: unique symbol;

/**
 * A topic name with the type of its requests (or one-way payloads) and of its answers, made by
 * {@link defineTopic}. Every messaging call and handler decorator accepts it where it accepts a
 * topic name, and checks payloads and answers against its types at compile time.
 */
export interface Topic<Req = unknown, Res = unknown> {
  /** The topic's name on the wire. */
  readonly name: string;
  /** Type carrier only: never set. */
  readonly [topicTypes]?: { readonly request: Req; readonly response: Res };
}

/** The request (payload) type of a {@link Topic}. */
export type TopicRequest<T> = T extends Topic<infer R, unknown> ? R : never;

/** The response type of a {@link Topic}. */
export type TopicResponse<T> = T extends Topic<unknown, infer R> ? R : never;

/** A topic given by name or as a typed {@link Topic}. */
export type TopicLike = string | Topic<unknown, unknown>;

/**
 * A typed topic: `defineTopic<GetPrice, Price>('prices.get')`. The name is checked now.
 * What the types cannot check (a peer running another build, pipes that change the payload) is
 * listed in docs/messaging.md.
 * @throws InvalidTopicError when the name is not a valid topic or uses {@link RESERVED_TOPIC_PREFIX}.
 */
export function defineTopic<Req = void, Res = void>(name: string): Topic<Req, Res> {
  checkTopic(name);
  return Object.freeze({ name });
}

/** The name of a topic given by name or as a {@link Topic}; other values are returned as is. */
export function topicName(topic: unknown): unknown {
  return typeof topic === 'object' && topic !== null && 'name' in topic
    ? (topic as { name: unknown }).name
    : topic;
}

/**
 * Refuses a topic that is not a non-empty string of at most {@link MAX_TOPIC_BYTES} UTF-8 bytes
 * (`reason: 'form'`), or that starts with {@link RESERVED_TOPIC_PREFIX} (`reason: 'reserved'`)
 * unless `allowReserved` is set: sends and the library's own handlers may use it.
 * @internal
 */
export function checkTopic(
  topic: unknown,
  options: { readonly allowReserved?: boolean } = {},
): asserts topic is string {
  if (
    typeof topic !== 'string' ||
    topic === '' ||
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: only long topics need counting.
    (topic.length * 3 > MAX_TOPIC_BYTES && Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES)
  )
    throw new InvalidTopicError(MessagingMessages.topicInvalid(topic, MAX_TOPIC_BYTES), {
      reason: 'form',
      ...(typeof topic === 'string' ? { topic } : {}),
    });
  if (options.allowReserved !== true && topic.startsWith(RESERVED_TOPIC_PREFIX))
    throw new InvalidTopicError(MessagingMessages.topicReserved(topic, RESERVED_TOPIC_PREFIX), {
      topic,
      reason: 'reserved',
    });
}
