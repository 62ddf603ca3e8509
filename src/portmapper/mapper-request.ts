/**
 * One request to a port mapper on a connection of its own, as EPMD clients talk: open the
 * connection, write the request, read the answer. Both waits are bounded by core's
 * `withDeadline`, and every failure is a {@link PortMapperError} with a code.
 */
import { type Socket, connect } from 'node:net';
import { toError, withDeadline } from '../core/index.js';
import { PortMapperError } from './port-mapper.errors.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';
import { PORT_MAPPER_DEFAULTS } from './port-mapper.defaults.js';

/**
 * Reads an answer: called with the bytes so far and whether the mapper closed, it returns the
 * answer and the bytes after it, `undefined` for "more bytes needed", or `null` for "closed
 * before a complete answer". It may throw when the bytes are not a valid answer.
 */
export type AnswerParser<T> = (
  bytes: Buffer,
  ended: boolean,
) => { value: T; rest: Buffer } | undefined | null;

/** One request and how to read its answer. */
export interface MapperExchange<T> {
  /** The mapper's `host:port`, for messages. */
  readonly address: string;
  /** What is asked, for messages (`NAMES_REQ`, `ALIVE2_REQ for "app"`). */
  readonly what: string;
  /** The request, length prefix included. */
  readonly frame: Buffer;
  /** Reads the answer from the bytes received. */
  readonly parse: AnswerParser<T>;
  /** How long the whole answer may take. */
  readonly timeoutMs: number;
  /** Aborts the request. */
  readonly signal?: AbortSignal;
  /** Leave the socket open once the answer is read: a registration lives on its connection. */
  readonly keepOpen?: boolean;
}

/** `host:port`, with an IPv6 host in brackets. */
export function mapperAddress(host: string, port: number): string {
  const bare = stripBrackets(host);
  return `${bare.includes(':') ? `[${bare}]` : bare}:${port}`;
}

/** Opens a TCP connection to the mapper on `host:port` within `timeoutMs`. */
export function connectToMapper(
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Socket> {
  const address = mapperAddress(host, port);
  const timeout = () =>
    new PortMapperError(M.connectTimeout(address, timeoutMs), {
      code: 'ERR_PORT_MAPPER_TIMEOUT',
      errno: 'ETIMEDOUT',
    });
  return bounded(M.connecting(address), timeoutMs, signal, timeout, inner => {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: stripBrackets(host), port, noDelay: true });
      const stopListening = () => {
        inner.removeEventListener('abort', onAbort);
        socket.off('connect', onConnect);
        socket.off('error', onError);
      };
      const onConnect = () => {
        stopListening();
        resolve(socket);
      };
      const onError = (error: Error) => {
        stopListening();
        discard(socket);
        const errno = errnoOf(error);
        reject(
          new PortMapperError(M.unreachable(address, errno ?? error.message), {
            code: errno === 'ETIMEDOUT' ? 'ERR_PORT_MAPPER_TIMEOUT' : 'ERR_PORT_MAPPER_UNREACHABLE',
            cause: error,
            errno,
          }),
        );
      };
      // The deadline passed or the caller aborted: the race is settled, only the socket is left.
      const onAbort = () => {
        stopListening();
        discard(socket);
        reject(toError(inner.reason));
      };
      inner.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', onConnect);
      socket.once('error', onError);
    });
  });
}

/**
 * Writes a request on `socket` and reads the answer within `exchange.timeoutMs`. On failure the
 * socket is destroyed; on success it is destroyed too, unless `keepOpen`, in which case its
 * listeners are removed and it is left to the caller.
 */
export function exchangeWithMapper<T>(
  socket: Socket,
  exchange: MapperExchange<T>,
): Promise<{ value: T; rest: Buffer }> {
  const { address, what, timeoutMs, parse } = exchange;
  const timeout = () =>
    new PortMapperError(M.requestTimeout(what, address, timeoutMs), {
      code: 'ERR_PORT_MAPPER_TIMEOUT',
      errno: 'ETIMEDOUT',
    });
  return bounded(what, timeoutMs, exchange.signal, timeout, inner => {
    return new Promise((resolve, reject) => {
      let buffer: Buffer = Buffer.alloc(0);
      let settled = false;
      const stopListening = () => {
        settled = true;
        inner.removeEventListener('abort', onAbort);
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.off('error', onError);
      };
      const fail = (error: Error) => {
        if (settled) return;
        stopListening();
        discard(socket);
        reject(error);
      };
      const protocolError = (message: string, details: { cause?: unknown; errno?: string } = {}) =>
        new PortMapperError(message, { code: 'ERR_PORT_MAPPER_PROTOCOL', ...details });
      const attempt = (ended: boolean) => {
        if (settled) return;
        let result: { value: T; rest: Buffer } | undefined | null;
        try {
          result = parse(buffer, ended);
        } catch (error) {
          fail(
            protocolError(M.invalidAnswer(what, address, toError(error).message), { cause: error }),
          );
          return;
        }
        if (result === null || (result === undefined && ended)) {
          fail(protocolError(M.closedEarly(what, address)));
          return;
        }
        if (result === undefined) return;
        stopListening();
        if (!exchange.keepOpen) socket.destroy();
        resolve(result);
      };
      const onData = (chunk: Buffer) => {
        const max = PORT_MAPPER_DEFAULTS.maxNamesResponseBytes;
        if (buffer.length + chunk.length > max) {
          fail(protocolError(M.answerTooLarge(what, address, max)));
          return;
        }
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        attempt(false);
      };
      const onEnd = () => attempt(true);
      const onError = (error: Error) => {
        const errno = errnoOf(error);
        fail(
          protocolError(M.closedEarly(what, address, errno ?? error.message), {
            cause: error,
            errno,
          }),
        );
      };
      // The deadline passed or the caller aborted: the race is settled, only the socket is left.
      const onAbort = () => fail(toError(inner.reason));
      inner.addEventListener('abort', onAbort, { once: true });
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('close', onEnd);
      socket.on('error', onError);
      socket.write(exchange.frame);
    });
  });
}

/** `host` without the brackets of an IPv6 literal (`[::1]` -> `::1`). */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The system error code of a socket error (Node reports `AggregateError`s for multi-address hosts). */
export function errnoOf(error: unknown): string | undefined {
  const direct = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof direct === 'string') return direct;
  const inner = (error as { errors?: unknown[] } | undefined)?.errors;
  if (Array.isArray(inner))
    for (const e of inner) {
      const code = (e as NodeJS.ErrnoException | undefined)?.code;
      if (typeof code === 'string') return code;
    }
  return undefined;
}

/**
 * `withDeadline`, with an abort by the caller reported as `ERR_PORT_MAPPER_ABORTED` (with the
 * signal's reason as cause) rather than as the bare reason: callers branch on the code.
 */
function bounded<T>(
  what: string,
  ms: number,
  signal: AbortSignal | undefined,
  onTimeout: () => Error,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return withDeadline(work, { ms, signal, onTimeout }).catch((error: unknown) => {
    if (signal?.aborted) {
      throw new PortMapperError(M.aborted(what), {
        code: 'ERR_PORT_MAPPER_ABORTED',
        cause: signal.reason,
      });
    }
    throw error;
  });
}

/** Destroys a socket whose late errors nobody waits for any more. */
function discard(socket: Socket): void {
  socket.on('error', () => undefined);
  socket.destroy();
}
