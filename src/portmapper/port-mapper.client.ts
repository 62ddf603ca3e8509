import { type Socket, connect } from 'node:net';
import { InvalidConfigError, toError } from '../core/errors.js';
import {
  type EpmdNameEntry,
  type EpmdNodeInfo,
  type EpmdRequest,
  EpmdNodeType,
  checkNodeName,
  decodeAlive2Response,
  decodeNamesResponse,
  decodePort2Response,
  encodeRequest,
} from './epmd-protocol.js';
import { PortMapperError } from './port-mapper.errors.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';
import {
  DEFAULT_PORT_MAPPER_HOST,
  DEFAULT_PORT_MAPPER_PORT,
  PORT_MAPPER_DEFAULTS,
} from './port-mapper.defaults.js';

/** Options of a {@link PortMapperClient}. */
export interface PortMapperClientOptions {
  /** The port mappers' port; {@link DEFAULT_PORT_MAPPER_PORT} by default (4369 for Erlang's epmd). */
  readonly port?: number;
  /** How long to wait for the TCP connection (1 s by default: the mapper is local or near). */
  readonly connectTimeoutMs?: number;
  /** How long to wait for a complete answer once connected (2 s by default). */
  readonly requestTimeoutMs?: number;
}

/** Options of one {@link PortMapperClient.register} call. */
export interface RegisterOptions {
  /** The mapper's address; `127.0.0.1` by default. Mappers accept registrations from loopback only. */
  readonly host?: string;
  /** `'normal'` (default) or `'hidden'`, EPMD's node type. */
  readonly nodeType?: 'normal' | 'hidden';
  /** Distribution versions announced (6 and 5 by default, as OTP 23/24 nodes). */
  readonly highestVersion?: number;
  readonly lowestVersion?: number;
  /** EPMD's opaque `Extra` field (empty by default). */
  readonly extra?: Uint8Array;
  /** Aborts the registration attempt (not a registration already made: use `close()`). */
  readonly signal?: AbortSignal;
  /** Let the registration connection not keep the process alive (`socket.unref()`). */
  readonly unref?: boolean;
}

/** Options of one lookup. */
export interface LookupOptions {
  /** Aborts the lookup. */
  readonly signal?: AbortSignal;
}

/** How a registration ended. */
export interface RegistrationEnd {
  /** `'closed'`: by `close()`; `'dropped'`: the connection to the mapper was lost. */
  readonly reason: 'closed' | 'dropped';
  /** What broke the connection, for `'dropped'`, when known. */
  readonly error?: Error;
}

/** A live registration with a port mapper: it lasts as long as its connection. */
export interface RegisteredNode {
  /** The registered name. */
  readonly name: string;
  /** The registered port. */
  readonly port: number;
  /** The creation number the mapper gave this registration. */
  readonly creation: number;
  /** The mapper's `host:port`. */
  readonly address: string;
  /** Whether the registration still holds. */
  readonly active: boolean;
  /**
   * Settles when the registration ends: by `close()` (`'closed'`), or because the connection to
   * the mapper dropped (`'dropped'`: the mapper's process died, or it closed us). Never rejects.
   */
  readonly ended: Promise<RegistrationEnd>;
  /** Unregisters (closes the connection); resolves once the connection is closed. */
  close(): Promise<void>;
}

/** A registered node as a mapper describes it (PORT_PLEASE2). */
export type PortMapperEntry = EpmdNodeInfo;

/**
 * Talks to port mappers (ours, or Erlang's `epmd`) over the EPMD wire protocol: one connection per
 * request, except a registration, whose connection is the registration.
 *
 * Hosts may be given as IPv4 (`127.0.0.1`), IPv6 (`::1`, `[::1]`), IPv4-mapped IPv6 or a DNS name
 * (`localhost`: every address it resolves to is tried). Every failure is a
 * {@link PortMapperError} with a stable code.
 */
export class PortMapperClient {
  /** The mappers' port. */
  readonly port: number;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;

  /** @throws InvalidConfigError naming the option and the accepted values. */
  constructor(options: PortMapperClientOptions = {}) {
    const int = (value: unknown, min: number, max: number) =>
      typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
    const check = (
      option: keyof PortMapperClientOptions,
      min: number,
      max: number,
      accepted: string,
    ) => {
      const value = options[option];
      if (value !== undefined && !int(value, min, max))
        throw new InvalidConfigError(M.invalidOption(option, value, accepted));
    };
    check('port', 1, 65535, 'an integer from 1 to 65535');
    check('connectTimeoutMs', 1, 2 ** 31 - 1, 'a positive integer of milliseconds');
    check('requestTimeoutMs', 1, 2 ** 31 - 1, 'a positive integer of milliseconds');
    this.port = options.port ?? DEFAULT_PORT_MAPPER_PORT;
    this.connectTimeoutMs = options.connectTimeoutMs ?? PORT_MAPPER_DEFAULTS.connectTimeoutMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? PORT_MAPPER_DEFAULTS.requestTimeoutMs;
  }

  /**
   * Registers `name` (the part of a node name before `@`) at `port` with the mapper of this host,
   * and keeps the connection open: the registration lasts until `close()` or until the connection
   * drops, which `ended` reports, so the caller can register again.
   * @throws PortMapperError `ERR_DUPLICATE_NODE_NAME` when a live node holds the name,
   * `ERR_PORT_MAPPER_UNREACHABLE` (with `errno`, e.g. `ECONNREFUSED`) when no mapper listens,
   * `ERR_PORT_MAPPER_TIMEOUT`, `ERR_PORT_MAPPER_PROTOCOL` or `ERR_PORT_MAPPER_ABORTED`.
   * @throws EpmdProtocolError when the name or a field is not acceptable (nothing is sent).
   */
  async register(
    name: string,
    port: number,
    options: RegisterOptions = {},
  ): Promise<RegisteredNode> {
    const request: EpmdRequest = {
      type: 'alive2',
      name: checkNodeName(name),
      port,
      nodeType: options.nodeType === 'hidden' ? EpmdNodeType.hidden : EpmdNodeType.normal,
      protocol: 0,
      highestVersion: options.highestVersion ?? 6,
      lowestVersion: options.lowestVersion ?? 5,
      extra: options.extra ?? new Uint8Array(0),
    };
    const frame = encodeRequest(request);
    const host = options.host ?? DEFAULT_PORT_MAPPER_HOST;
    const address = this.addressOf(host);
    const what = `ALIVE2_REQ for "${name}"`;
    const socket = await this.connect(host, address, options.signal);
    let answer: { result: number; creation: number };
    let rest: Buffer;
    try {
      ({ value: answer, rest } = await this.exchange(
        socket,
        address,
        what,
        frame,
        options.signal,
        (bytes, ended) => {
          const decoded = decodeAlive2Response(bytes);
          if (decoded === undefined) return ended ? null : undefined;
          return { value: decoded.value, rest: Buffer.from(bytes.subarray(decoded.length)) };
        },
        false,
      ));
    } catch (error) {
      socket.destroy();
      throw error;
    }
    if (answer.result !== 0) {
      socket.destroy();
      throw new PortMapperError('ERR_DUPLICATE_NODE_NAME', M.nameTaken(name, address));
    }
    if (rest.length > 0) {
      socket.destroy();
      throw new PortMapperError(
        'ERR_PORT_MAPPER_PROTOCOL',
        M.invalidAnswer(what, address, `${rest.length} byte(s) after the answer`),
      );
    }
    if (options.unref) socket.unref();
    return new Registration(socket, name, port, answer.creation, address);
  }

  /**
   * Asks the mapper on `host` where `name` listens (PORT_PLEASE2_REQ).
   * @returns the node, or `undefined` when the mapper does not know the name.
   * @throws PortMapperError when the mapper cannot be reached or answers nonsense.
   */
  async lookup(
    host: string,
    name: string,
    options: LookupOptions = {},
  ): Promise<PortMapperEntry | undefined> {
    const frame = encodeRequest({ type: 'portPlease2', name: checkNodeName(name) });
    const address = this.addressOf(host);
    const socket = await this.connect(host, address, options.signal);
    try {
      const { value } = await this.exchange(
        socket,
        address,
        `PORT_PLEASE2_REQ for "${name}"`,
        frame,
        options.signal,
        (bytes, ended) => {
          const decoded = decodePort2Response(bytes);
          if (decoded === undefined) return ended ? null : undefined;
          return { value: decoded.value, rest: Buffer.alloc(0) };
        },
      );
      return value;
    } finally {
      socket.destroy();
    }
  }

  /**
   * All names registered with the mapper on `host`, with their ports (NAMES_REQ).
   * @throws PortMapperError when the mapper cannot be reached or answers nonsense: an error is
   * never an empty answer.
   */
  async names(host: string, options: LookupOptions = {}): Promise<EpmdNameEntry[]> {
    const frame = encodeRequest({ type: 'names' });
    const address = this.addressOf(host);
    const socket = await this.connect(host, address, options.signal);
    try {
      const { value } = await this.exchange(
        socket,
        address,
        'NAMES_REQ',
        frame,
        options.signal,
        (bytes, ended) =>
          ended ? { value: decodeNamesResponse(bytes).names, rest: Buffer.alloc(0) } : undefined,
      );
      return [...value];
    } finally {
      socket.destroy();
    }
  }

  private addressOf(host: string): string {
    const bare = stripBrackets(host);
    return `${bare.includes(':') ? `[${bare}]` : bare}:${this.port}`;
  }

  /** Opens a TCP connection to the mapper, within the connect timeout. */
  private connect(host: string, address: string, signal: AbortSignal | undefined): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      if (signal?.aborted) {
        reject(
          new PortMapperError('ERR_PORT_MAPPER_ABORTED', M.aborted(`Connecting to ${address}`), {
            cause: signal.reason,
          }),
        );
        return;
      }
      const socket = connect({ host: stripBrackets(host), port: this.port, noDelay: true });
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('connect', onConnect);
        socket.off('error', onError);
      };
      const fail = (error: PortMapperError) => {
        cleanup();
        socket.on('error', () => undefined);
        socket.destroy();
        reject(error);
      };
      const onConnect = () => {
        cleanup();
        resolve(socket);
      };
      const onError = (error: Error) => {
        const errno = errnoOf(error);
        const timedOut = errno === 'ETIMEDOUT';
        fail(
          new PortMapperError(
            timedOut ? 'ERR_PORT_MAPPER_TIMEOUT' : 'ERR_PORT_MAPPER_UNREACHABLE',
            M.unreachable(address, errno ?? error.message),
            { cause: error, errno },
          ),
        );
      };
      const onAbort = () =>
        fail(
          new PortMapperError('ERR_PORT_MAPPER_ABORTED', M.aborted(`Connecting to ${address}`), {
            cause: signal?.reason,
          }),
        );
      const timer = setTimeout(
        () =>
          fail(
            new PortMapperError(
              'ERR_PORT_MAPPER_TIMEOUT',
              M.connectTimeout(address, this.connectTimeoutMs),
              { errno: 'ETIMEDOUT' },
            ),
          ),
        this.connectTimeoutMs,
      );
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', onConnect);
      socket.once('error', onError);
    });
  }

  /**
   * Writes a request and reads the answer: `parse` is called with the bytes so far and whether
   * the mapper closed; it returns the answer, `undefined` for "more bytes needed", or `null` for
   * "closed before a complete answer". With `untilClose` false, the socket is left open and its
   * listeners removed once the answer is read.
   */
  private exchange<T>(
    socket: Socket,
    address: string,
    what: string,
    frame: Buffer,
    signal: AbortSignal | undefined,
    parse: (bytes: Buffer, ended: boolean) => { value: T; rest: Buffer } | undefined | null,
    closeAfter = true,
  ): Promise<{ value: T; rest: Buffer }> {
    return new Promise((resolve, reject) => {
      let buffer: Buffer = Buffer.alloc(0);
      let settled = false;
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onClose);
        socket.off('error', onError);
      };
      const fail = (error: PortMapperError) => {
        if (settled) return;
        cleanup();
        socket.on('error', () => undefined);
        socket.destroy();
        reject(error);
      };
      const attempt = (ended: boolean) => {
        if (settled) return;
        let result: { value: T; rest: Buffer } | undefined | null;
        try {
          result = parse(buffer, ended);
        } catch (error) {
          fail(
            new PortMapperError(
              'ERR_PORT_MAPPER_PROTOCOL',
              M.invalidAnswer(what, address, toError(error).message),
              { cause: error },
            ),
          );
          return;
        }
        if (result === null || (result === undefined && ended)) {
          fail(new PortMapperError('ERR_PORT_MAPPER_PROTOCOL', M.closedEarly(what, address)));
          return;
        }
        if (result === undefined) return;
        cleanup();
        if (closeAfter) socket.destroy();
        resolve(result);
      };
      const onData = (chunk: Buffer) => {
        if (buffer.length + chunk.length > PORT_MAPPER_DEFAULTS.maxNamesResponseBytes) {
          fail(
            new PortMapperError(
              'ERR_PORT_MAPPER_PROTOCOL',
              M.answerTooLarge(what, address, PORT_MAPPER_DEFAULTS.maxNamesResponseBytes),
            ),
          );
          return;
        }
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        attempt(false);
      };
      const onEnd = () => attempt(true);
      const onClose = () => attempt(true);
      const onError = (error: Error) => {
        const errno = errnoOf(error);
        fail(
          new PortMapperError(
            'ERR_PORT_MAPPER_PROTOCOL',
            M.closedEarly(what, address) + ` (${errno ?? error.message})`,
            { cause: error, errno },
          ),
        );
      };
      const onAbort = () =>
        fail(
          new PortMapperError('ERR_PORT_MAPPER_ABORTED', M.aborted(what), {
            cause: signal?.reason,
          }),
        );
      const timer = setTimeout(
        () =>
          fail(
            new PortMapperError(
              'ERR_PORT_MAPPER_TIMEOUT',
              M.requestTimeout(what, address, this.requestTimeoutMs),
              { errno: 'ETIMEDOUT' },
            ),
          ),
        this.requestTimeoutMs,
      );
      timer.unref();
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('close', onClose);
      socket.on('error', onError);
      socket.write(frame);
    });
  }
}

/** The live registration behind {@link PortMapperClient.register}. */
class Registration implements RegisteredNode {
  readonly ended: Promise<RegistrationEnd>;
  private finish!: (end: RegistrationEnd) => void;
  private closing = false;
  private isActive = true;
  private error: Error | undefined;
  private readonly socketClosed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    readonly name: string,
    readonly port: number,
    readonly creation: number,
    readonly address: string,
  ) {
    this.ended = new Promise(resolve => (this.finish = resolve));
    socket.setKeepAlive(true, 5_000);
    this.socketClosed = new Promise(resolve => socket.once('close', () => resolve()));
    if (socket.closed || socket.destroyed) {
      // Closed between the answer and now: report it rather than wait for a 'close' already gone.
      this.isActive = false;
      this.finish({
        reason: 'dropped',
        error: new PortMapperError(
          'ERR_PORT_MAPPER_UNREACHABLE',
          M.registrationDropped(name, address, 'the mapper closed the connection'),
        ),
      });
    }
    socket.on('error', error => (this.error ??= error));
    socket.on('data', () => {
      // A mapper never speaks after the answer: whatever this is, the registration is unreliable.
      this.error ??= new PortMapperError(
        'ERR_PORT_MAPPER_PROTOCOL',
        M.invalidAnswer(`ALIVE2_REQ for "${name}"`, address, 'bytes after the answer'),
      );
      socket.destroy();
    });
    socket.once('close', () => {
      this.isActive = false;
      if (this.closing) this.finish({ reason: 'closed' });
      else
        this.finish({
          reason: 'dropped',
          error:
            this.error ??
            new PortMapperError(
              'ERR_PORT_MAPPER_UNREACHABLE',
              M.registrationDropped(name, address, 'the mapper closed the connection'),
            ),
        });
    });
  }

  get active(): boolean {
    return this.isActive;
  }

  async close(): Promise<void> {
    if (this.isActive) {
      this.closing = true;
      this.socket.destroy();
    }
    await this.socketClosed;
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The system error code of a socket error (Node reports `AggregateError`s for multi-address hosts). */
function errnoOf(error: unknown): string | undefined {
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
