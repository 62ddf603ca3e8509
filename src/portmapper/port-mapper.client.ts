import {
  Limiter,
  checkMilliseconds,
  checkNamespace,
  checkPort,
  invalidOption,
} from '../core/index.js';
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
import {
  type AnswerParser,
  connectToMapper,
  exchangeWithMapper,
  mapperAddress,
} from './mapper-request.js';
import { encodeNamespaceExtra, namespaceOfExtra } from './namespace-extra.js';
import { PortMapperError } from './port-mapper.errors.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';
import { RegistrationConnection } from './registration-connection.js';
import {
  DEFAULT_PORT_MAPPER_HOST,
  DEFAULT_PORT_MAPPER_PORT,
  PORT_MAPPER_DEFAULTS,
} from './port-mapper.defaults.js';

const NO_BYTES = Buffer.alloc(0);
/** PORT_PLEASE2 requests {@link PortMapperClient.nodes} has in flight at once, per call. */
const LOOKUPS_AT_ONCE = 8;

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
  /** Highest distribution version announced (6 by default, as OTP 23/24 nodes). */
  readonly highestVersion?: number;
  /** Lowest distribution version announced (5 by default). */
  readonly lowestVersion?: number;
  /** EPMD's opaque `Extra` field (empty by default); not with `namespace`. */
  readonly extra?: Uint8Array;
  /**
   * The cluster namespace of the node, written into `Extra` (`gen-cluster:ns=<namespace>`), so that
   * {@link PortMapperClient.nodes} reports it and `local` discovery of other namespaces skips the
   * node; not with `extra`.
   */
  readonly namespace?: string;
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

/** A registered node with the cluster namespace its registration declares. */
export interface PortMapperNode {
  /** The registered name. */
  readonly name: string;
  /** The registered port. */
  readonly port: number;
  /**
   * The namespace its `Extra` declares: `'default'` for a registration without one (Erlang nodes,
   * versions before namespaces); `undefined` when its `Extra` claims one that cannot be read.
   */
  readonly namespace: string | undefined;
}

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
    const option = (key: keyof PortMapperClientOptions) => M.optionName('client', key);
    if (options.port !== undefined) checkPort(option('port'), options.port);
    for (const key of ['connectTimeoutMs', 'requestTimeoutMs'] as const) {
      if (options[key] !== undefined) checkMilliseconds(option(key), options[key]);
    }
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
   * @throws InvalidConfigError when `namespace` is not a namespace, or comes with `extra`.
   */
  async register(
    name: string,
    port: number,
    options: RegisterOptions = {},
  ): Promise<RegisteredNode> {
    let extra = options.extra ?? new Uint8Array(0);
    if (options.namespace !== undefined) {
      const option = M.optionName('client', 'namespace');
      checkNamespace(option, options.namespace);
      if (options.extra !== undefined)
        throw invalidOption(option, options.namespace, M.namespaceWithoutExtra());
      extra = encodeNamespaceExtra(options.namespace);
    }
    const request: EpmdRequest = {
      type: 'alive2',
      name: checkNodeName(name),
      port,
      nodeType: options.nodeType === 'hidden' ? EpmdNodeType.hidden : EpmdNodeType.normal,
      protocol: 0,
      highestVersion: options.highestVersion ?? 6,
      lowestVersion: options.lowestVersion ?? 5,
      extra,
    };
    const frame = encodeRequest(request);
    const host = options.host ?? DEFAULT_PORT_MAPPER_HOST;
    const address = mapperAddress(host, this.port);
    const what = M.alive2Request(name);
    const socket = await connectToMapper(host, this.port, this.connectTimeoutMs, options.signal);
    let answer: { result: number; creation: number };
    let rest: Buffer;
    try {
      ({ value: answer, rest } = await exchangeWithMapper(socket, {
        address,
        what,
        frame,
        timeoutMs: this.requestTimeoutMs,
        signal: options.signal,
        keepOpen: true,
        parse: (bytes, ended) => {
          const decoded = decodeAlive2Response(bytes);
          if (decoded === undefined) return ended ? null : undefined;
          return { value: decoded.value, rest: Buffer.from(bytes.subarray(decoded.length)) };
        },
      }));
    } catch (error) {
      socket.destroy();
      throw error;
    }
    if (answer.result !== 0) {
      socket.destroy();
      throw new PortMapperError(M.nameTaken(name, address), { code: 'ERR_DUPLICATE_NODE_NAME' });
    }
    if (rest.length > 0) {
      socket.destroy();
      throw new PortMapperError(M.invalidAnswer(what, address, M.bytesAfterAnswer(rest.length)), {
        code: 'ERR_PORT_MAPPER_PROTOCOL',
      });
    }
    if (options.unref) socket.unref();
    return new RegistrationConnection(socket, name, port, answer.creation, address);
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
    return this.ask(host, M.portPlease2Request(name), frame, options.signal, (bytes, ended) => {
      const decoded = decodePort2Response(bytes);
      if (decoded === undefined) return ended ? null : undefined;
      return { value: decoded.value, rest: NO_BYTES };
    });
  }

  /**
   * All names registered with the mapper on `host`, with their ports (NAMES_REQ).
   * @throws PortMapperError when the mapper cannot be reached or answers nonsense: an error is
   * never an empty answer.
   */
  async names(host: string, options: LookupOptions = {}): Promise<EpmdNameEntry[]> {
    const frame = encodeRequest({ type: 'names' });
    const names = await this.ask(host, M.namesRequest(), frame, options.signal, (bytes, ended) =>
      ended ? { value: decodeNamesResponse(bytes).names, rest: NO_BYTES } : undefined,
    );
    return [...names];
  }

  /**
   * All names registered with the mapper on `host`, each with the namespace its registration
   * declares: NAMES_REQ, then PORT_PLEASE2_REQ for each name (a few at once), as the EPMD format
   * returns `Extra` only there. A name that is gone by its PORT_PLEASE2 is left out.
   * @throws PortMapperError when the mapper cannot be reached or answers nonsense, for any of the
   * requests: an error is never a shorter answer.
   */
  async nodes(host: string, options: LookupOptions = {}): Promise<PortMapperNode[]> {
    const names = await this.names(host, options);
    const limiter = new Limiter(LOOKUPS_AT_ONCE);
    const found = await Promise.all(
      names.map(entry => limiter.run(() => this.lookup(host, entry.name, options))),
    );
    return found
      .filter((entry): entry is PortMapperEntry => entry !== undefined)
      .map(entry => ({
        name: entry.name,
        port: entry.port,
        namespace: namespaceOfExtra(entry.extra),
      }));
  }

  /** A one-shot request on a connection of its own, closed once answered. */
  private async ask<T>(
    host: string,
    what: string,
    frame: Buffer,
    signal: AbortSignal | undefined,
    parse: AnswerParser<T>,
  ): Promise<T> {
    const address = mapperAddress(host, this.port);
    const socket = await connectToMapper(host, this.port, this.connectTimeoutMs, signal);
    try {
      const exchange = { address, what, frame, parse, signal, timeoutMs: this.requestTimeoutMs };
      return (await exchangeWithMapper(socket, exchange)).value;
    } finally {
      socket.destroy();
    }
  }
}
