import { MAX_TOPIC_BYTES } from '../distribution/index.js';
import { InvalidConfigError } from '../core/index.js';
import type { MsPattern } from '@nestjs/microservices';
import { transformPatternToRoute } from '@nestjs/microservices/utils/transform-pattern.utils.js';
import { MicroservicesMessages } from './microservices.messages.js';

/**
 * The prefix of the cluster topics that carry `@nestjs/microservices` patterns. It keeps them
 * apart from `@ClusterHandler` / `on()` topics, whose answers are not the transport's envelope.
 */
export const PATTERN_TOPIC_PREFIX = 'ms:';

/**
 * The cluster topic of a `@nestjs/microservices` pattern: `'ms:'` followed by the route Nest
 * makes of it (object keys sorted), so `{ cmd: 'sum' }` is `ms:{"cmd":"sum"}`. Use it with
 * `ClusterService.servers()` to see who serves a pattern.
 *
 * @publicApi
 */
export function patternTopic(pattern: unknown): string {
  return routeTopic(String(transformPatternToRoute(pattern as MsPattern)));
}

/** The topic of a route Nest already normalised; refuses routes the cluster cannot carry. */
export function routeTopic(route: string): string {
  const topic = PATTERN_TOPIC_PREFIX + route;
  if (
    Buffer.byteLength(topic) > MAX_TOPIC_BYTES ||
    route.includes('[MAX_DEPTH_REACHED]') ||
    route.includes('[TOO_MANY_KEYS]')
  )
    throw new InvalidConfigError(MicroservicesMessages.badRoute(route, MAX_TOPIC_BYTES), {
      option: 'pattern',
    });
  return topic;
}

/**
 * A pattern with a key for rendezvous selection, made by {@link withKey}: the client sends it to
 * the node that owns the key among those serving the pattern. The key is not part of the topic.
 *
 * @publicApi
 */
export class KeyedPattern<P = unknown> {
  /** @internal Made by {@link withKey}. */
  constructor(
    /** The pattern as the server's `@MessagePattern` names it. */
    readonly pattern: P,
    /** The key whose owner answers. */
    readonly key: string | number,
  ) {}
}

/**
 * Wraps `pattern` so that `GenClusterClientProxy.send()` picks the server by rendezvous hashing of
 * `key`: the same key reaches the same node while the servers stay the same.
 *
 * @example
 * client.send(withKey({ cmd: 'cart.get' }, userId), { userId });
 * @publicApi
 */
export function withKey<P>(pattern: P, key: string | number): KeyedPattern<P> {
  return new KeyedPattern(pattern, key);
}
