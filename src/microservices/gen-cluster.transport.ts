import { type INestApplicationContext, Logger } from '@nestjs/common';
import {
  type BaseRpcContext,
  type CustomTransportStrategy,
  type Transport,
  type MessageHandler as NestMessageHandler,
  Server,
  type WritePacket,
} from '@nestjs/microservices';
import {
  type MessageContext,
  type MessageHandler,
  InvalidConfigError,
  RateLimitedLog,
  checkInteger,
  checkKnownKeys,
  toError,
} from '../core/index.js';
import {
  EMPTY,
  NEVER,
  type Observable,
  Subject,
  fromEvent,
  isObservable,
  merge,
  of,
  take,
  takeUntil,
  tap,
} from 'rxjs';
import { ClusterService, DEFAULT_CLUSTER_NAME, getClusterToken } from '../nest/index.js';
import { GenClusterContext } from './gen-cluster.context.js';
import { MicroservicesMessages } from './microservices.messages.js';
import { routeTopic } from './pattern-topic.js';
import { type AnswerEnvelope, DEFAULT_MAX_STREAM_VALUES, StreamAnswer } from './stream-answer.js';

/**
 * The transport id of {@link GenClusterTransport}: give it to `@MessagePattern(pattern, id)` to
 * serve a pattern on this transport only in a hybrid app with several.
 *
 * @publicApi
 */
export const GEN_CLUSTER_TRANSPORT: unique symbol = Symbol.for('gen-cluster');

/** Options of {@link GenClusterTransport}. */
export interface GenClusterTransportOptions {
  /** How many values an Observable answer may have (default 1,000); over it, the client gets an error. */
  readonly maxStreamValues?: number;
}

/** Options of {@link createGenClusterTransport}. */
export interface CreateGenClusterTransportOptions extends GenClusterTransportOptions {
  /** The cluster to serve on, by its `GenClusterModule` name (default `'default'`). */
  readonly cluster?: string;
}

const CUT_LOG_WINDOW_MS = 60_000;
const CUT_LOG_KEYS = 256;

/** Nest's exception handler for a handler that failed outside it (it never happens in Nest 12). */
const INTERNAL_ERROR = { status: 'error', message: MicroservicesMessages.internalError };

/**
 * A `@nestjs/microservices` transport over the cluster: every `@MessagePattern` of the app becomes
 * the request handler of the cluster topic `ms:<route>` and every `@EventPattern` a subscriber of
 * it, so existing controllers serve the mesh unchanged. The registry announces them, and
 * `GenClusterClientProxy` (or `ClusterService.call`) reaches them. Build it with
 * {@link createGenClusterTransport}.
 *
 * @publicApi
 */
export class GenClusterTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = GEN_CLUSTER_TRANSPORT;
  protected override readonly logger: Logger;
  private readonly maxStreamValues: number;
  private readonly removers: (() => void)[] = [];
  private readonly eventHeads = new Map<string, NestMessageHandler>();
  private readonly cutLog = new RateLimitedLog(CUT_LOG_WINDOW_MS, CUT_LOG_KEYS);
  /** Emits when the transport closes: every answer still streaming is ended. */
  private readonly closing = new Subject<void>();
  private hooked = false;

  constructor(
    private readonly cluster: ClusterService,
    options: GenClusterTransportOptions = {},
  ) {
    super();
    checkKnownKeys('GenClusterTransport options', options as unknown, ['maxStreamValues']);
    this.maxStreamValues = options.maxStreamValues ?? DEFAULT_MAX_STREAM_VALUES;
    checkInteger('maxStreamValues', this.maxStreamValues, 1, 1_000_000);
    this.logger = new Logger(`GenClusterTransport:${cluster.name}`);
    this.initializeSerializer({});
    this.initializeDeserializer({});
  }

  /** Registers every handler Nest added on the cluster, then calls `callback`. Nest calls it. */
  listen(callback: (error?: unknown) => void): void {
    try {
      const registered: [string, NestMessageHandler, NestMessageHandler | undefined][] = [];
      for (const [route, head] of this.messageHandlers) {
        // Nest chains a route's event handlers behind its first handler, which may be a request one.
        let event: NestMessageHandler | undefined = head;
        while (event !== undefined && !event.isEventHandler) event = event.next;
        registered.push([routeTopic(route), head, event]);
        if (event !== undefined) this.eventHeads.set(route, event);
      }
      for (const [topic, head, event] of registered) {
        const route = topic.slice(3);
        if (!head.isEventHandler)
          this.removers.push(this.cluster.registerHandler(topic, this.requestAdapter(route, head)));
        if (event !== undefined)
          this.removers.push(this.cluster.registerSubscriber(topic, this.eventAdapter(route)));
      }
    } catch (error) {
      this.close();
      callback(error);
      return;
    }
    callback();
  }

  /** Removes every registration (the registry withdraws the topics). Nest calls it. */
  close(): void {
    for (const remove of this.removers.splice(0)) remove();
    this.eventHeads.clear();
    this.closing.next();
  }

  /** No events of its own: the cluster's are on `ClusterService.events$`. */
  on(): this {
    return this;
  }

  /** The cluster this transport serves on. */
  unwrap<T = ClusterService>(): T {
    return this.cluster as T;
  }

  /** Sets the hook run when processing starts (OpenTelemetry's); see Nest's `Server`. */
  override setOnProcessingStartHook(
    hook: (transportId: Transport | symbol, context: unknown, done: () => Promise<unknown>) => void,
  ): void {
    this.hooked = true;
    super.setOnProcessingStartHook(hook);
  }

  /** Sets the hook run when processing ends; see Nest's `Server`. */
  override setOnProcessingEndHook(
    hook: (transportId: Transport | symbol, context: BaseRpcContext | unknown) => void,
  ): void {
    this.hooked = true;
    super.setOnProcessingEndHook(hook);
  }

  /** Nest's lookup, with a route's first event handler for events (see {@link listen}). */
  override getHandlerByPattern(pattern: string): NestMessageHandler | null {
    return this.eventHeads.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  private requestAdapter(route: string, handler: NestMessageHandler): MessageHandler<unknown> {
    return (data, context) => {
      // A request handler also receives one-way messages: an emit is for the event handlers only.
      if (context.kind === 'oneWay') return undefined;
      return this.answer(route, handler, data, new GenClusterContext([context, route]));
    };
  }

  private eventAdapter(route: string): MessageHandler<unknown> {
    return (data, context: MessageContext) =>
      this.handleEvent(route, { pattern: route, data }, new GenClusterContext([context, route]));
  }

  /** Runs the handler and collects its answer, through the processing hooks when one is set. */
  private answer(
    route: string,
    handler: NestMessageHandler,
    data: unknown,
    context: GenClusterContext,
  ): Promise<AnswerEnvelope> {
    return this.hooked
      ? this.answerHooked(route, handler, data, context)
      : this.answerDirect(route, handler, data, context);
  }

  /**
   * No hook to run: no reply queue (Nest's `send` takes a tick per value) and, for a plain value
   * (what Nest's handler chain gives without interceptors), no Observable either. The envelope
   * is the one the stream path makes of a single value; the spec compares both paths.
   */
  private async answerDirect(
    route: string,
    handler: NestMessageHandler,
    data: unknown,
    context: GenClusterContext,
  ): Promise<AnswerEnvelope> {
    let result: unknown;
    try {
      result = await handler(data, context);
    } catch (error) {
      this.logger.error(MicroservicesMessages.handlerRejected(route, toError(error).message));
      return { e: INTERNAL_ERROR };
    }
    if (!isObservable(result)) return { r: [result] };
    return new Promise(resolve => {
      const stream = this.streamAnswer(route, resolve);
      result
        .pipe(stream.collect(), takeUntil(this.stopped(context, stream)))
        .subscribe({ error: e => stream.fail(e), complete: () => stream.complete() });
    });
  }

  /**
   * Emits (once) when an answer still streaming must end: its requester went away (the
   * request's signal aborts) or the transport closes. The answer is settled first, so the
   * handler counts as finished (a drain does not wait for it) and its Observable is unsubscribed.
   */
  private stopped(context: GenClusterContext, stream: StreamAnswer): Observable<unknown> {
    const signal = context.getMessageContext().signal;
    const gone: Observable<unknown> =
      signal === undefined ? NEVER : signal.aborted ? of(undefined) : fromEvent(signal, 'abort');
    return merge(gone, this.closing).pipe(
      take(1),
      tap(() => stream.fail({ status: 'error', message: MicroservicesMessages.streamStopped })),
    );
  }

  /** Through Nest's `handleRequest`, so the processing hooks run as on Nest's own transports. */
  private answerHooked(
    route: string,
    handler: NestMessageHandler,
    data: unknown,
    context: GenClusterContext,
  ): Promise<AnswerEnvelope> {
    return new Promise(resolve => {
      const stream = this.streamAnswer(route, resolve);
      const produce = async () => {
        try {
          return this.transformToObservable(await handler(data, context)).pipe(
            stream.collect(),
            takeUntil(this.stopped(context, stream)),
          );
        } catch (error) {
          this.logger.error(MicroservicesMessages.handlerRejected(route, toError(error).message));
          stream.fail(INTERNAL_ERROR);
          return EMPTY;
        }
      };
      const run: unknown = this.handleRequest(context, produce, (packet: WritePacket) => {
        if (packet.err !== undefined) stream.fail(packet.err);
        else if (packet.isDisposed) stream.complete();
      });
      // A hook that throws must not become an unhandled rejection; the caller times out.
      Promise.resolve(run).catch((error: unknown) =>
        this.logger.error(MicroservicesMessages.handlerRejected(route, toError(error).message)),
      );
    });
  }

  private streamAnswer(route: string, resolve: (envelope: AnswerEnvelope) => void): StreamAnswer {
    return new StreamAnswer(this.maxStreamValues, resolve, reason =>
      this.cutLog.write(route, MicroservicesMessages.streamCut(route, reason), m =>
        this.logger.warn(m),
      ),
    );
  }
}

/**
 * Builds the transport on the application's cluster, for a hybrid app (the cluster lives in the
 * app's container, so `NestFactory.createMicroservice` cannot be used):
 *
 * @example
 * const app = await NestFactory.create(AppModule);
 * app.connectMicroservice({ strategy: createGenClusterTransport(app) }, { inheritAppConfig: true });
 * await app.startAllMicroservices();
 * await app.listen(3000);
 * @publicApi
 */
export function createGenClusterTransport(
  app: INestApplicationContext,
  options: CreateGenClusterTransportOptions = {},
): GenClusterTransport {
  checkKnownKeys('createGenClusterTransport options', options as unknown, [
    'cluster',
    'maxStreamValues',
  ]);
  const { cluster: name = DEFAULT_CLUSTER_NAME, ...transportOptions } = options;
  const token = getClusterToken(name);
  let cluster: unknown;
  try {
    cluster = app.get(token, { strict: false });
  } catch (error) {
    throw new InvalidConfigError(MicroservicesMessages.noCluster(JSON.stringify(name)), {
      option: 'cluster',
      cause: error,
    });
  }
  if (!(cluster instanceof ClusterService))
    throw new InvalidConfigError(MicroservicesMessages.noCluster(JSON.stringify(name)), {
      option: 'cluster',
    });
  return new GenClusterTransport(cluster, transportOptions);
}
