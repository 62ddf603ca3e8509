import { InvalidConfigError } from '../../core/index.js';
import { type Topic, type TopicLike, topicName } from '../../distribution/index.js';
import { NestMessages } from '../gen-cluster.messages.js';
import type { TypedHandlerDecorator, TypedSubscriberDecorator } from '../typed-topic.types.js';
import {
  GEN_CLUSTER_HANDLER_METADATA,
  GEN_CLUSTER_SUBSCRIBER_METADATA,
} from './cluster-handler.constants.js';

/**
 * Options of `@ClusterHandler` and `@OnClusterMessage`.
 * @publicApi
 */
export interface ClusterHandlerOptions {
  /** The cluster's name (`GenClusterModule.forRoot({ name })`); the default cluster when unset. */
  readonly cluster?: string;
}

/** One decorator's registration, as kept on the method. @internal */
export interface ClusterTopicMetadata {
  /** The topic name as given (checked at bootstrap, so the error can name the method). */
  readonly topic: unknown;
  readonly options: ClusterHandlerOptions;
}

/**
 * Declares this node's **request handler** of `topic`: it answers requests and also receives
 * one-way messages and broadcasts of the topic, as `ClusterService.on()` does. A node has one per
 * topic (a second one fails the bootstrap, naming both). The method runs through Nest's pipeline
 * (guards, pipes, interceptors, exception filters; `ExecutionContext.getType()` is
 * `'gen-cluster'`); its return value (awaited, or the last value of an Observable) is the answer.
 * Stackable: one method may handle several topics or clusters.
 *
 * @example
 * @ClusterHandler('prices.get')
 * get(@Payload() query: GetPrice, @ClusterContext() context: MessageContext) { ... }
 *
 * With a typed topic ({@link defineTopic}), the method's return type and its payload parameter
 * (the first that is not a `MessageContext`) are checked against the topic's types.
 *
 * @publicApi
 */
export function ClusterHandler<Req, Res>(
  topic: Topic<Req, Res>,
  options?: ClusterHandlerOptions,
): TypedHandlerDecorator<Req, Res>;
/** Declares this node's request handler of the topic named `topic`. @publicApi */
export function ClusterHandler(topic: string, options?: ClusterHandlerOptions): MethodDecorator;
export function ClusterHandler<Req, Res>(
  topic: TopicLike,
  options: ClusterHandlerOptions = {},
): MethodDecorator | TypedHandlerDecorator<Req, Res> {
  return topicDecorator('ClusterHandler', GEN_CLUSTER_HANDLER_METADATA, topic, options);
}

/**
 * Declares a **subscriber** of `topic`: it receives one-way messages and broadcasts, never
 * requests, and a node may have any number per topic. Each runs on its own: one that throws does
 * not stop the others, and its error is logged. Subscribers of one message share one decoded
 * payload: do not mutate it. Runs through Nest's pipeline like `@ClusterHandler`. Stackable.
 *
 * With a typed topic, the payload parameter is checked against the topic's request type.
 *
 * @publicApi
 */
export function OnClusterMessage<Req>(
  topic: Topic<Req, unknown>,
  options?: ClusterHandlerOptions,
): TypedSubscriberDecorator<Req>;
/** Declares a subscriber of the topic named `topic`. @publicApi */
export function OnClusterMessage(topic: string, options?: ClusterHandlerOptions): MethodDecorator;
export function OnClusterMessage<Req>(
  topic: TopicLike,
  options: ClusterHandlerOptions = {},
): MethodDecorator | TypedSubscriberDecorator<Req> {
  return topicDecorator('OnClusterMessage', GEN_CLUSTER_SUBSCRIBER_METADATA, topic, options);
}

function topicDecorator(
  decorator: string,
  metadataKey: string,
  topic: unknown,
  options: ClusterHandlerOptions,
): MethodDecorator {
  const entry: ClusterTopicMetadata = { topic: topicName(topic), options: { ...options } };
  return (target, key, descriptor) => {
    const method = instanceMethod(decorator, target, key, descriptor);
    appendMetadata(metadataKey, entry, method);
  };
}

/**
 * The decorated function, refusing what cannot receive messages: a static method (Nest calls
 * instances) or an accessor.
 * @internal
 */
export function instanceMethod(
  decorator: string,
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor | undefined,
): object {
  // `descriptor` is absent when plain JavaScript applies it to a field
  if (typeof target === 'function' || typeof descriptor?.value !== 'function') {
    const owner = typeof target === 'function' ? target.name : target.constructor.name;
    throw new InvalidConfigError(
      NestMessages.decoratorNotOnMethod(decorator, `${owner}.${String(key)}`),
    );
  }
  return descriptor.value as object;
}

/** Adds `entry` to the array kept under `key` on `method`, so decorators stack. @internal */
export function appendMetadata(key: string, entry: unknown, method: object): void {
  const previous = (Reflect.getOwnMetadata(key, method) as unknown[] | undefined) ?? [];
  Reflect.defineMetadata(key, [...previous, entry], method);
}
