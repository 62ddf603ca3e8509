/**
 * Shared by the messaging unit specs (src/distribution/messaging/*.spec.ts): Messaging instances
 * wired together in memory, a logger that keeps its lines, and small promise helpers.
 */
import type { ClusterLogger } from '../../src/core/index.js';
import { type Envelope, decodeEnvelope } from '../../src/distribution/messaging/envelope.js';
import {
  type MessageTransport,
  Messaging,
  type MessagingOptions,
} from '../../src/distribution/messaging/messaging.js';
import {
  type PayloadCodec,
  createPayloadCodec,
} from '../../src/distribution/messaging/payload-codec.js';
import { NodeDownError } from '../../src/distribution/transport.errors.js';
import { TransportMessages } from '../../src/distribution/transport.messages.js';

/** Nodes of the specs. */
export const A = 'a@10.0.0.1';
export const B = 'b@10.0.0.2';
export const C = 'c@10.0.0.3';
export const D = 'd@10.0.0.4';

/** Jest's sandbox `process` does not see unhandled rejections; the main realm's does. */
export const mainProcess = (setImmediate.constructor as FunctionConstructor)(
  'return process',
)() as NodeJS.Process;

/** A logger that keeps its lines, for specs to assert on. */
export class TestLogger implements ClusterLogger {
  readonly lines: { level: string; message: string }[] = [];
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  log(message: string): void {
    this.lines.push({ level: 'log', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string): void {
    this.lines.push({ level: 'error', message });
  }
  has(level: string, text: string): boolean {
    return this.lines.some(line => line.level === level && line.message.includes(text));
  }
  count(level: string): number {
    return this.lines.filter(line => line.level === level).length;
  }
}

/** A message handed to a transport of the {@link MemoryNetwork}. */
export interface Sent {
  readonly from: string;
  readonly to: string;
  readonly envelope: Envelope;
}

/**
 * Messaging instances wired together in memory: each message is copied into one buffer and
 * delivered in a microtask, like a transport handing over whole received messages.
 */
export class MemoryNetwork {
  readonly nodes = new Map<string, Messaging>();
  readonly loggers = new Map<string, TestLogger>();
  /** Nodes treated as not connected. */
  readonly down = new Set<string>();
  /** Every message handed to a transport, decoded. */
  readonly sent: Sent[] = [];
  /** Makes the transport of `from` throw this for messages to `to` (any `to` when unset). */
  failure: { from: string; to?: string; error: Error } | undefined;
  /** Messages for which this returns true are held in `held` instead of being delivered. */
  hold: ((sent: Sent) => boolean) | undefined;
  readonly held: (() => void)[] = [];

  add(self: string, options: Partial<MessagingOptions> = {}): Messaging {
    const logger = new TestLogger();
    const messaging = new Messaging({ self, transport: this.transport(self), logger, ...options });
    this.nodes.set(self, messaging);
    this.loggers.set(self, logger);
    return messaging;
  }

  logger(node: string): TestLogger {
    return this.loggers.get(node)!;
  }

  transport(self: string): MessageTransport {
    return {
      send: (node, parts) => {
        if (this.failure?.from === self && (this.failure.to ?? node) === node)
          throw this.failure.error;
        const target = this.nodes.get(node);
        if (target === undefined || this.down.has(node) || this.down.has(self))
          throw new NodeDownError(TransportMessages.nodeDown(node), { node });
        const bytes = Buffer.concat(parts);
        const sent = { from: self, to: node, envelope: decodeEnvelope(bytes) };
        this.sent.push(sent);
        const deliver = () => target.receive(self, bytes);
        if (this.hold?.(sent)) this.held.push(deliver);
        else queueMicrotask(deliver);
      },
      members: () => [...this.nodes.keys()].filter(n => n !== self && !this.down.has(n)),
    };
  }

  release(): void {
    for (const deliver of this.held.splice(0)) deliver();
  }

  close(): void {
    for (const node of this.nodes.values()) node.close();
  }
}

/** A promise with its `resolve` and `reject`, to settle it from outside. */
export function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** The error `run` throws; fails when it returns. */
export function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

/** Lets every queued microtask and I/O callback run (not a sleep: no fixed delay). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise(resolve => setImmediate(resolve));
}

/** A msgpack codec that counts its encodes and decodes (`counts`, which a spec may reset). */
export function countingCodec(): {
  codec: PayloadCodec;
  counts: { encodes: number; decodes: number };
} {
  const msgpack = createPayloadCodec();
  const counts = { decodes: 0, encodes: 0 };
  const codec: PayloadCodec = {
    name: 'counting',
    encode: value => {
      counts.encodes++;
      return msgpack.encode(value);
    },
    decode: bytes => {
      counts.decodes++;
      return msgpack.decode(bytes);
    },
  };
  return { codec, counts };
}
