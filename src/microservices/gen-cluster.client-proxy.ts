import { Logger } from '@nestjs/common';
import { Observable } from 'rxjs';
import {
  ClientProxy,
  type ProducerSerializer,
  type ReadPacket,
  type WritePacket,
} from '@nestjs/microservices';
import { InvalidConfigError, checkKnownKeys, isPlainObject } from '../core/index.js';
import { ClusterService } from '../nest/index.js';
import type { CallOptions, RetryOn, Selection } from '../primitives/index.js';
import { AbortControllerPool } from './abort-controller-pool.js';
import { MicroservicesMessages } from './microservices.messages.js';
import { KeyedPattern, routeTopic } from './pattern-topic.js';
import { isAnswerEnvelope } from './stream-answer.js';

/** Options of a {@link GenClusterClientProxy}. */
export interface GenClusterClientOptions {
  /** The cluster to call through. */
  readonly cluster: ClusterService;
  /** How `send` picks the serving node (default `'round-robin'`); `withKey()` overrides it per call. */
  readonly select?: Selection;
  /** How long `send` waits for the answer (the dist's request timeout when unset). */
  readonly timeoutMs?: number;
  /** Further attempts on other servers after a node failure (default 0): idempotent patterns only. */
  readonly retries?: number;
  /** Also retry after a timeout or a remote error (default neither). */
  readonly retryOn?: readonly RetryOn[];
  /** Turns each outgoing packet into what is sent; its `data` is the payload (identity by default). */
  readonly serializer?: ProducerSerializer;
}

const OPTION_KEYS = ['cluster', 'select', 'timeoutMs', 'retries', 'retryOn', 'serializer'];

/** Topics of routes kept by a client at most (then forgotten and made again). */
const MAX_CACHED_TOPICS = 1_024;

/**
 * A `@nestjs/microservices` client over the cluster. `send(pattern, data)` calls a member that
 * serves the pattern (through `ClusterService.call`, so with its selection, timeout and retries)
 * and its Observable emits the handler's values; `emit(pattern, data)` delivers the event once to
 * every member with an `@EventPattern` of it. Register it with `GenClusterClientsModule` or with
 * Nest's `ClientsModule.registerAsync` (`customClass`).
 *
 * @publicApi
 */
export class GenClusterClientProxy extends ClientProxy {
  private readonly cluster: ClusterService;
  private readonly callOptions: CallOptions;
  private readonly logger: Logger;
  private readonly topics = new Map<string, string>();
  private readonly controllers = new AbortControllerPool();

  constructor(options: GenClusterClientOptions) {
    super();
    checkKnownKeys('GenClusterClientProxy options', options as unknown, OPTION_KEYS);
    if (!(options.cluster instanceof ClusterService))
      throw new InvalidConfigError(MicroservicesMessages.noClusterOption(options.cluster), {
        option: 'cluster',
      });
    const { cluster, serializer, ...callOptions } = options;
    this.cluster = cluster;
    this.callOptions = callOptions;
    this.logger = new Logger(`GenClusterClientProxy:${cluster.name}`);
    this.initializeSerializer({ serializer } as Parameters<ClientProxy['initializeSerializer']>[0]);
    this.initializeDeserializer({});
  }

  /** Resolves at once: the cluster connects by itself. */
  connect(): Promise<ClusterService> {
    return Promise.resolve(this.cluster);
  }

  /** Nothing to close: the cluster belongs to the application. */
  close(): void {}

  /** The cluster this client calls through. */
  unwrap<T = ClusterService>(): T {
    return this.cluster as T;
  }

  /** The nodes (this one included) serving `pattern` now, sorted. */
  servers(pattern: unknown): string[] {
    return this.cluster.servers(this.topicOf(pattern));
  }

  /**
   * Nest's `send`, less its `defer(connect)` and `mergeMap` per call: this client has nothing to
   * connect, so the packet is published when the Observable is subscribed. Errors, values and
   * teardown reach the subscriber as through Nest's `send`.
   */
  override send<TResult = unknown, TInput = unknown>(
    pattern: unknown,
    data: TInput,
  ): Observable<TResult> {
    // A missing pattern or data: Nest's own InvalidMessageException, as Nest throws it.
    if (pattern === null || pattern === undefined || data === null || data === undefined)
      return super.send<TResult, TInput>(pattern, data);
    return new Observable<TResult>(observer =>
      this.publish(this.packetOf(pattern, data), this.createObserver(observer)),
    );
  }

  /** Nest's packet, through its dispatch hook when the installed Nest has one (`createPacket`). */
  private packetOf(pattern: unknown, data: unknown): ReadPacket {
    return typeof (this as unknown as { createPacket?: unknown }).createPacket === 'function'
      ? this.createPacket(pattern, data)
      : { pattern, data };
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const call = new PendingCall(callback, this.controllers);
    try {
      const { pattern } = packet;
      const options: CallOptions =
        pattern instanceof KeyedPattern
          ? { ...this.callOptions, select: { key: pattern.key }, signal: call.signal }
          : { ...this.callOptions, signal: call.signal };
      this.cluster
        .call(this.topicOf(pattern), this.payloadOf(packet), options)
        .then(call.onAnswer, call.onError);
    } catch (error) {
      call.onError(error);
    }
    return call.teardown;
  }

  protected dispatchEvent<T = number>(packet: ReadPacket): Promise<T> {
    try {
      const topic = this.topicOf(packet.pattern);
      const nodes = this.cluster.subscribers(topic);
      if (nodes.length === 0) {
        this.logger.debug(MicroservicesMessages.noSubscriber(topic));
        return Promise.resolve(0 as T);
      }
      return Promise.resolve(this.cluster.broadcast(topic, this.payloadOf(packet), { nodes }) as T);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  private topicOf(pattern: unknown): string {
    const bare = pattern instanceof KeyedPattern ? pattern.pattern : pattern;
    const route = this.normalizePattern(bare as Parameters<ClientProxy['normalizePattern']>[0]);
    // The topic of a route is checked once; the routes a client sends to are few.
    let topic = this.topics.get(route);
    if (topic === undefined) {
      topic = routeTopic(route);
      if (this.topics.size >= MAX_CACHED_TOPICS) this.topics.clear();
      this.topics.set(route, topic);
    }
    return topic;
  }

  private payloadOf(packet: ReadPacket): unknown {
    const serialized: unknown = this.serializer.serialize(packet);
    return isPlainObject(serialized) && 'data' in serialized ? serialized.data : serialized;
  }
}

/** Replays an answer to Nest's observer: each value, then the end (or the error Nest made). */
function deliver(answer: unknown, callback: (packet: WritePacket) => void): void {
  // A plain `on()` handler on an `ms:` topic answers its value as it is.
  if (!isAnswerEnvelope(answer)) return callback({ response: answer, isDisposed: true });
  if ('e' in answer) return callback({ err: answer.e });
  const values = answer.r;
  for (let i = 0; i < values.length - 1; i++) callback({ response: values[i] });
  if (values.length === 0) callback({ isDisposed: true });
  else callback({ response: values[values.length - 1], isDisposed: true });
}

/**
 * One `send` in flight: its answer goes to Nest's observer once, and an unsubscribe before it
 * aborts the wait (the call's signal). A call that ends without aborting gives its controller back.
 */
class PendingCall {
  private settled = false;
  private readonly abort: AbortController;

  constructor(
    private readonly callback: (packet: WritePacket) => void,
    private readonly controllers: AbortControllerPool,
  ) {
    this.abort = controllers.take();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  readonly onAnswer = (answer: unknown): void => {
    if (this.settled) return;
    this.settled = true;
    this.controllers.release(this.abort);
    deliver(answer, this.callback);
  };

  readonly onError = (error: unknown): void => {
    if (this.settled) return;
    this.settled = true;
    this.controllers.release(this.abort);
    this.callback({ err: error });
  };

  readonly teardown = (): void => {
    if (this.settled) return;
    // Unsubscribed before the answer: stop waiting for it (this controller is not reused).
    this.settled = true;
    this.abort.abort();
  };
}
