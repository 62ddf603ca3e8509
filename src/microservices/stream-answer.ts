import { type MonoTypeOperatorFunction, takeWhile } from 'rxjs';
import { MicroservicesMessages } from './microservices.messages.js';

/**
 * The answer of a `@MessagePattern` handler as it crosses the cluster, carried as a successful
 * response of the `ms:` topic: `{ r }` the values the handler's Observable emitted (one for a
 * plain value), `{ e }` the error Nest's exception handling produced, as it produced it.
 */
export type AnswerEnvelope = { readonly r: unknown[] } | { readonly e: unknown };

/** How many values a stream answer may hold by default. */
export const DEFAULT_MAX_STREAM_VALUES = 1_000;
/** How many bytes (estimated as JSON) the values of a stream answer may hold together. */
export const MAX_STREAM_ANSWER_BYTES = 2 * 1024 * 1024;

/** Whether `value` is an answer envelope (the client reads only these from `ms:` topics). */
export function isAnswerEnvelope(value: unknown): value is AnswerEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 1 &&
    (keys[0] === 'e' || (keys[0] === 'r' && Array.isArray((value as { r: unknown }).r)))
  );
}

/** The size a value adds to a stream answer: exact for bytes, its JSON length otherwise. */
function sizeOf(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    // The payload codec refuses what JSON cannot write; the size check is not where it fails.
    return 0;
  }
}

/**
 * Collects the values of one handler's answer into an {@link AnswerEnvelope}, within the bounds:
 * over `maxValues` values or {@link MAX_STREAM_ANSWER_BYTES}, the stream is unsubscribed and the
 * answer becomes Nest's error shape with a message saying so.
 */
export class StreamAnswer {
  private readonly values: unknown[] = [];
  private bytes = 0;
  private settled = false;

  constructor(
    private readonly maxValues: number,
    private readonly resolve: (envelope: AnswerEnvelope) => void,
    private readonly onCut: (reason: string) => void,
  ) {}

  /** Passes the source's values on while collecting them; ends the source at a bound. */
  collect<T>(): MonoTypeOperatorFunction<T> {
    return takeWhile(value => this.accept(value));
  }

  /** The source completed: the answer is the values collected. */
  complete(): void {
    this.settle({ r: this.values });
  }

  /** The source errored (Nest already turned the exception into what the client gets). */
  fail(error: unknown): void {
    this.settle({ e: error });
  }

  private accept(value: unknown): boolean {
    if (this.settled) return false;
    this.values.push(value);
    // A single value is bounded by the payload codec's own limit; only a stream adds up here.
    if (this.values.length > 1) {
      if (this.values.length === 2) this.bytes = sizeOf(this.values[0]);
      this.bytes += sizeOf(value);
    }
    const reason =
      this.values.length > this.maxValues
        ? MicroservicesMessages.streamTooLong(this.maxValues)
        : this.bytes > MAX_STREAM_ANSWER_BYTES
          ? MicroservicesMessages.streamTooLarge(MAX_STREAM_ANSWER_BYTES)
          : undefined;
    if (reason === undefined) return true;
    this.onCut(reason);
    this.settle({ e: { status: 'error', message: reason } });
    return false;
  }

  private settle(envelope: AnswerEnvelope): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(envelope);
  }
}
