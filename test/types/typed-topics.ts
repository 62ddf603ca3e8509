/**
 * Type tests of typed topics, compiled (never run) by test/e2e/type-tests.e2e-spec.ts against the
 * built declarations, as a user's application compiles them. Each `@ts-expect-error` marks one
 * misuse that must not compile; after it, in brackets, the diagnostic code the line must give
 * once the comment is removed, and optionally a text the message must contain (so the error
 * stays readable). Every other line must compile. The suite replaces the import path below with
 * the package's name; `tsc -p tsconfig.json` checks this file against the sources.
 */
import {
  ClusterContext,
  ClusterHandler,
  type ClusterService,
  type MessageContext,
  OnClusterMessage,
  Payload,
  type RequestAllResult,
  type TopicRequest,
  type TopicResponse,
  defineTopic,
} from '../../src/index.js';
import { Observable, of } from 'rxjs';

interface GetPrice {
  readonly sku: string;
  readonly quantity?: number;
}
interface Price {
  readonly sku: string;
  readonly cents: number;
}
/** A DTO class as ValidationPipe wants it: structurally a GetPrice. */
class GetPriceDto {
  sku!: string;
  quantity?: number;
}

const PricesGet = defineTopic<GetPrice, Price>('prices.get');
const Announce = defineTopic<{ readonly text: string }>('announce');
const Ping = defineTopic('ping');

declare const cluster: ClusterService;
declare const node: string;

// --- Caller side: payloads and results are checked -------------------------------------------

export async function callers(): Promise<void> {
  const price: Price = await cluster.request(node, PricesGet, { sku: 'a-1' });
  const cents: number = price.cents;
  const all: RequestAllResult<Price>[] = await cluster.requestAll(PricesGet, { sku: 'a-1' });
  for (const result of all) if (result.ok) void (result.value.cents + cents);
  cluster.send(node, PricesGet, { sku: 'a-1', quantity: 2 });
  const reached: number = cluster.broadcast(Announce, { text: 'hello' });
  cluster.send(node, Ping, undefined);
  void reached;
  // topics given by name stay unchecked, as before
  const untyped: number = await cluster.request<number>(node, 'prices.get', { anything: 1 });
  void untyped;
  const request: TopicRequest<typeof PricesGet> = { sku: 'b-2' };
  const response: TopicResponse<typeof PricesGet> = { sku: 'b-2', cents: 3 };
  void [request, response];

  // @ts-expect-error [TS2769] a request payload that is not a GetPrice
  await cluster.request(node, PricesGet, { id: 1 });
  // @ts-expect-error [TS2769] a property of the wrong type
  await cluster.request(node, PricesGet, { sku: 42 });
  // @ts-expect-error [TS2322] the answer is a Price, not a string
  const wrongAnswer: string = await cluster.request(node, PricesGet, { sku: 'a-1' });
  // @ts-expect-error [TS2769] a one-way payload that is not a GetPrice
  cluster.send(node, PricesGet, { id: 1 });
  // @ts-expect-error [TS2769] a broadcast payload that is not an announcement
  cluster.broadcast(Announce, { text: 7 });
  // @ts-expect-error [TS2769] a requestAll payload that is not a GetPrice
  await cluster.requestAll(PricesGet, 'a-1');
  // @ts-expect-error [TS2345] each value is a Price, not a string
  for (const result of all) if (result.ok) void ((x: string) => x)(result.value);
  // @ts-expect-error [TS2769] a topic without a payload takes none
  cluster.send(node, Ping, { sku: 'a-1' });
  void wrongAnswer;
}

// --- Imperative handlers: the handler's parameter and answer are checked -----------------------

export function imperative(): void {
  cluster.on(PricesGet, query => ({ sku: query.sku, cents: 100 }));
  cluster.on(PricesGet, async (query: GetPrice, context: MessageContext) => ({
    sku: `${query.sku}@${context.from}`,
    cents: 1,
  }));
  cluster.subscribe(Announce, announcement => void announcement.text.toUpperCase());
  cluster.on('untyped', (payload: unknown) => payload);

  // @ts-expect-error [TS2769] the handler's parameter does not accept a GetPrice
  cluster.on(PricesGet, (query: { id: number }) => ({ sku: String(query.id), cents: 1 }));
  // @ts-expect-error [TS2769] the handler does not answer a Price
  cluster.on(PricesGet, query => query.sku);
  // @ts-expect-error [TS2769] the handler's promise does not give a Price
  cluster.on(PricesGet, async () => 'free');
  // @ts-expect-error [TS2769] the subscriber's parameter does not accept an announcement
  cluster.subscribe(Announce, (announcement: { text: number }) => announcement.text);
}

// --- Decorated handlers: the payload parameter and the return type are checked -----------------

export class PriceHandlers {
  @ClusterHandler(PricesGet)
  get(@Payload() query: GetPriceDto, @ClusterContext() context: MessageContext): Price {
    return { sku: `${query.sku}@${context.from}`, cents: 100 };
  }

  @ClusterHandler(PricesGet, { cluster: 'blue' })
  async getLater(query: GetPrice): Promise<Price> {
    return Promise.resolve({ sku: query.sku, cents: 1 });
  }

  @ClusterHandler(PricesGet)
  stream(context: MessageContext, query: GetPrice): Observable<Price> {
    return of({ sku: `${query.sku}@${context.topic}`, cents: 1 });
  }

  @ClusterHandler(PricesGet)
  withoutPayload(): Price {
    return { sku: 'fixed', cents: 1 };
  }

  /** A property payload cannot be told from the whole one: a property's type passes. */
  @ClusterHandler(PricesGet)
  property(@Payload('sku') sku: string): Price {
    return { sku, cents: 1 };
  }

  @ClusterHandler(PricesGet)
  anyPayload(@Payload() query: unknown): Price {
    return { sku: String(query), cents: 1 };
  }

  @ClusterHandler('untyped')
  untyped(payload: number): string {
    return String(payload);
  }

  @OnClusterMessage(Announce)
  heard(@Payload() announcement: { text: string }): void {
    void announcement.text;
  }

  @OnClusterMessage(Announce)
  async heardLater(context: MessageContext, announcement: { text: string }): Promise<number> {
    return Promise.resolve(announcement.text.length + context.from.length);
  }

  // @ts-expect-error [TS1241 HandlerResult] the answer must be a Price
  @ClusterHandler(PricesGet)
  wrongAnswer(@Payload() query: GetPrice): string {
    return query.sku;
  }

  // @ts-expect-error [TS1241] the promise must give a Price
  @ClusterHandler(PricesGet)
  async wrongLaterAnswer(@Payload() query: GetPrice): Promise<number> {
    return Promise.resolve(query.sku.length);
  }

  // @ts-expect-error [TS1241 ParameterDoesNotAcceptPayload] the payload parameter needs a GetPrice
  @ClusterHandler(PricesGet)
  wrongPayload(@Payload() query: { sku: number }): Price {
    return { sku: String(query.sku), cents: 1 };
  }

  // @ts-expect-error [TS1241 ParameterDoesNotAcceptPayload] the payload is not the context
  @ClusterHandler(PricesGet)
  wrongAfterContext(@ClusterContext() context: MessageContext, @Payload() query: boolean): Price {
    return { sku: `${String(query)}${context.from}`, cents: 1 };
  }

  // @ts-expect-error [TS1241 ParameterDoesNotAcceptPayload] a subscriber's payload is checked too
  @OnClusterMessage(Announce)
  wrongHeard(@Payload() announcement: { text: number }): void {
    void announcement.text;
  }
}
