import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { type ClusterLogger, RateLimitedLog, toError } from '../core/index.js';
import {
  EPMD_LIMITS,
  EpmdCode,
  type EpmdNameEntry,
  type EpmdNodeInfo,
  type EpmdRequest,
  decodeRequest,
  encodeAlive2Response,
  encodeNamesResponse,
  encodePort2Response,
  readRequestFrame,
} from './epmd-protocol.js';
import { mapperAddress } from './mapper-request.js';
import { NodeRegistry } from './node-registry.js';
import { EpmdProtocolError, PortMapperError } from './port-mapper.errors.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';
import {
  DEFAULT_PORT_MAPPER_HOST,
  DEFAULT_PORT_MAPPER_PORT,
  PORT_MAPPER_DEFAULTS,
} from './port-mapper.defaults.js';
import {
  type PortMapperServerOptions,
  checkServerOptions,
  isLoopbackAddress,
  listenScope,
} from './server-options.js';

/** One client connection and what the server knows of it. */
interface ClientConnection {
  readonly socket: Socket;
  readonly remote: string;
  /** The source address, as counted against `maxPendingPerAddress` (kept: a closed socket forgets it). */
  readonly address: string;
  buffer: Buffer;
  /** The registered name, once an ALIVE2_REQ succeeded on this connection. */
  registered: string | undefined;
  /** An answer was written and the connection is ending. */
  answered: boolean;
  timer: NodeJS.Timeout | undefined;
}

const NO_BYTES = Buffer.alloc(0);
/** Hostile input is logged once per source and this many ms. */
const LOG_EVERY_MS = 10_000;
/** Distinct sources whose hostile input is logged, before the table is reset. */
const MAX_LOG_SOURCES = 256;

/**
 * A host-local port mapper speaking the EPMD wire protocol (ALIVE2, PORT_PLEASE2, NAMES; a KILL
 * from loopback is answered `"NO"`), so Erlang's `erl` and `epmd -names` can use it too.
 *
 * - A registration lives exactly as long as the connection that made it: when that connection
 *   closes, or sends any further byte (as epmd), the name is unregistered.
 * - It listens on loopback only unless `host` says otherwise (an opt-in: other hosts then learn
 *   the names and ports of this host's nodes). Whatever the address, only loopback clients may
 *   register or send KILL; others are closed without an answer (as epmd), and may only ask.
 * - Every registration gets a fresh creation number (epmd's algorithm: a counter bumped per
 *   registration, never equal to the previous creation of the same name; seeded at random rather
 *   than with the clock, so a mapper restarted by failover in the same second starts elsewhere).
 * - A name held by a live connection is refused (result 1), as is any registration past
 *   `maxRegistrations`.
 * - Hostile input never crashes it: bad lengths and layouts close the connection at once, silent or
 *   partial connections are closed after `packetTimeoutMs`, every buffer is bounded.
 */
export class PortMapperServer {
  /** The address it listens on. */
  readonly host: string;

  private readonly server: Server;
  /** Loopback, when `host` is one other interface: local nodes register there. */
  private readonly loopbackServer: Server | undefined;
  private readonly packetTimeoutMs: number;
  private readonly maxRegistrations: number;
  private readonly maxPending: number;
  private readonly maxPendingPerAddress: number;
  private readonly logger: ClusterLogger | undefined;
  private readonly unref: boolean;
  private readonly registry = new NodeRegistry<ClientConnection>();
  /** Loopback connections without a registration, oldest first. */
  private readonly pendingLocal = new Set<ClientConnection>();
  /** Other hosts' connections (never registered), oldest first: the first to go past the cap. */
  private readonly pendingRemote = new Set<ClientConnection>();
  /** Other hosts' pending connections, by source address. */
  private readonly pendingByAddress = new Map<string, number>();
  private readonly connections = new Set<ClientConnection>();
  private readonly hostileLog = new RateLimitedLog(LOG_EVERY_MS, MAX_LOG_SOURCES);
  private listeningPort = 0;
  private closing: Promise<void> | undefined;

  private constructor(options: PortMapperServerOptions) {
    this.host = options.host ?? DEFAULT_PORT_MAPPER_HOST;
    this.packetTimeoutMs = options.packetTimeoutMs ?? PORT_MAPPER_DEFAULTS.packetTimeoutMs;
    this.maxRegistrations = options.maxRegistrations ?? PORT_MAPPER_DEFAULTS.maxRegistrations;
    this.maxPending = options.maxPendingConnections ?? PORT_MAPPER_DEFAULTS.maxPendingConnections;
    this.maxPendingPerAddress =
      options.maxPendingPerAddress ?? PORT_MAPPER_DEFAULTS.maxPendingPerAddress;
    this.logger = options.logger;
    this.unref = options.unref ?? false;
    this.server = createServer({ noDelay: true }, socket => this.accept(socket));
    if (listenScope(this.host) === 'one-interface')
      this.loopbackServer = createServer({ noDelay: true }, socket => this.accept(socket));
  }

  /**
   * Starts a port mapper listening on `options.host`:`options.port`.
   * @throws PortMapperError `ERR_PORT_MAPPER_UNREACHABLE` when it cannot listen; its `errno` is
   * `EADDRINUSE` when another process holds the port.
   * @throws InvalidConfigError naming an option, its value and what is accepted.
   */
  static async start(options: PortMapperServerOptions = {}): Promise<PortMapperServer> {
    checkServerOptions(options);
    const mapper = new PortMapperServer(options);
    const servers = [mapper.server, mapper.loopbackServer].filter(s => s !== undefined);
    try {
      await listen(mapper.server, mapper.host, options.port ?? DEFAULT_PORT_MAPPER_PORT);
      mapper.listeningPort = (mapper.server.address() as AddressInfo).port;
      // Same port on loopback: a mapper already there makes this one fail as a whole (EADDRINUSE).
      if (mapper.loopbackServer)
        await listen(mapper.loopbackServer, DEFAULT_PORT_MAPPER_HOST, mapper.listeningPort);
    } catch (error) {
      await Promise.all(servers.map(server => new Promise(resolve => server.close(resolve))));
      throw error;
    }
    for (const server of servers) {
      if (mapper.unref) server.unref();
      server.on('error', error =>
        mapper.logger?.warn(M.serverError(mapper.address, toError(error))),
      );
    }
    mapper.logger?.debug?.(M.listening(mapper.address));
    if (mapper.exposed) mapper.logger?.log(M.exposed(mapper.address));
    return mapper;
  }

  /**
   * Whether other hosts can reach it (its `host` is not loopback). They may only ask for names
   * and ports: registrations and KILL are taken from loopback clients only.
   */
  get exposed(): boolean {
    return listenScope(this.host) !== 'loopback';
  }

  /** The port it listens on. */
  get port(): number {
    return this.listeningPort;
  }

  /** `host:port` (IPv6 in brackets). */
  get address(): string {
    return mapperAddress(this.host, this.listeningPort);
  }

  /** How many names are registered. */
  get size(): number {
    return this.registry.size;
  }

  /** How many connections are open (registered or not). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The registered names and ports, in registration order. */
  names(): EpmdNameEntry[] {
    return this.registry.names();
  }

  /** The registration of `name`, if it is registered. */
  lookup(name: string): (EpmdNodeInfo & { readonly creation: number }) | undefined {
    const entry = this.registry.get(name);
    return entry && { ...entry.node, creation: entry.creation };
  }

  /** Whether it stopped (or is stopping). */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Stops listening and closes every connection at once, which unregisters every node: each of
   * them sees its registration connection drop.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>(resolve => {
      let open = this.loopbackServer ? 2 : 1;
      const closed = () => --open === 0 && resolve();
      this.server.close(closed);
      this.loopbackServer?.close(closed);
      for (const connection of this.connections) connection.socket.destroy();
      this.connections.clear();
      this.pendingLocal.clear();
      this.pendingRemote.clear();
      this.pendingByAddress.clear();
      this.registry.clear();
    });
    return this.closing;
  }

  // --- connections -------------------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.unref) socket.unref();
    const address = socket.remoteAddress ?? '?';
    const loopback = isLoopbackAddress(socket.remoteAddress);
    if (!loopback && (this.pendingByAddress.get(address) ?? 0) >= this.maxPendingPerAddress) {
      // One host cycling idle connections must not push out other hosts' queries nor, through
      // the shared cap, this host's own registrations: its excess goes at once.
      socket.on('error', () => undefined);
      socket.destroy();
      const logger = this.logger;
      if (logger)
        this.hostileLog.write(
          `per-address ${address}`,
          M.tooManyFromAddress(address, this.maxPendingPerAddress),
          line => logger.warn(line),
        );
      return;
    }
    const connection: ClientConnection = {
      socket,
      remote: `${address}:${socket.remotePort ?? '?'}`,
      address,
      buffer: NO_BYTES,
      registered: undefined,
      answered: false,
      timer: undefined,
    };
    this.connections.add(connection);
    if (loopback) this.pendingLocal.add(connection);
    else {
      this.pendingRemote.add(connection);
      this.pendingByAddress.set(address, (this.pendingByAddress.get(address) ?? 0) + 1);
    }
    socket.on('error', () => undefined); // 'close' follows and cleans up
    socket.on('close', () => this.release(connection));
    socket.on('data', chunk => {
      try {
        this.receive(connection, chunk);
      } catch (error) {
        this.drop(connection, toError(error).message);
      }
    });
    connection.timer = setTimeout(
      () => this.drop(connection, M.idleConnection(this.packetTimeoutMs)),
      this.packetTimeoutMs,
    );
    connection.timer.unref();
    if (this.pendingLocal.size + this.pendingRemote.size > this.maxPending) {
      // Other hosts' connections go first: a local node must always be able to register.
      const from = this.pendingRemote.size > 0 ? this.pendingRemote : this.pendingLocal;
      this.drop(from.values().next().value!, M.tooManyPending(this.maxPending));
    }
  }

  private receive(connection: ClientConnection, chunk: Buffer): void {
    if (connection.socket.destroyed) return;
    if (connection.registered !== undefined) {
      // epmd: any byte on a registration connection unregisters the node and closes it.
      this.logger?.debug?.(M.bytesOnAlive(connection.registered));
      this.drop(connection, M.bytesOnRegistration());
      return;
    }
    if (connection.answered) {
      this.drop(connection, M.bytesAfterRequest());
      return;
    }
    connection.buffer =
      connection.buffer.length === 0 ? chunk : Buffer.concat([connection.buffer, chunk]);
    let frame: ReturnType<typeof readRequestFrame>;
    try {
      frame = readRequestFrame(connection.buffer);
    } catch (error) {
      this.drop(connection, toError(error).message);
      return;
    }
    if (frame === undefined) return; // bounded: readRequestFrame checked the declared length
    if (frame.rest.length > 0) {
      this.drop(connection, M.longerThanDeclared());
      return;
    }
    connection.buffer = NO_BYTES;
    this.handle(connection, frame.body);
  }

  private handle(connection: ClientConnection, body: Buffer): void {
    let request: EpmdRequest;
    try {
      request = decodeRequest(body);
    } catch (error) {
      const isAlive2 = body[0] === EpmdCode.ALIVE2_REQ;
      if (
        error instanceof EpmdProtocolError &&
        error.reason === 'bad-name' &&
        isAlive2 &&
        isLoopbackAddress(connection.socket.remoteAddress)
      ) {
        // As epmd's alive_req_too_large: an error answer, nothing registered.
        this.refuseAlive2(connection, body.length >= 7 && body.readUInt16BE(5) >= 6);
        this.limitedLog(connection, error.message);
        return;
      }
      this.drop(connection, toError(error).message);
      return;
    }
    switch (request.type) {
      case 'alive2':
        this.register(connection, request);
        return;
      case 'portPlease2': {
        this.answer(connection, encodePort2Response(this.registry.get(request.name)?.node));
        return;
      }
      case 'names':
        this.answer(connection, encodeNamesResponse(this.listeningPort, this.names()));
        return;
      case 'kill':
        if (!isLoopbackAddress(connection.socket.remoteAddress)) {
          // epmd ignores KILL (and STOP, DUMP: unknown codes here) from other hosts: no answer.
          this.limitedLog(connection, M.nonLocalCommand(connection.remote, 'KILL_REQ'), 'warn');
          this.drop(connection, M.nonLoopbackCommand());
          return;
        }
        this.logger?.debug?.(M.killRefused());
        this.answer(connection, Buffer.from('NO', 'latin1'));
        return;
    }
  }

  private register(connection: ClientConnection, node: EpmdNodeInfo & { type: 'alive2' }): void {
    const { socket } = connection;
    if (!isLoopbackAddress(socket.remoteAddress)) {
      this.limitedLog(connection, M.nonLocalRegister(connection.remote), 'warn');
      this.drop(connection, M.nonLoopback());
      return;
    }
    const extended = node.highestVersion >= 6;
    if (this.registry.has(node.name)) {
      this.logger?.debug?.(M.duplicateName(node.name));
      this.refuseAlive2(connection, extended);
      return;
    }
    if (this.registry.size >= this.maxRegistrations) {
      this.limitedLog(connection, M.registryFull(this.maxRegistrations), 'warn');
      this.refuseAlive2(connection, extended);
      return;
    }
    if (socket.destroyed || !socket.writable) return; // gone before we answer: no zombie
    const { type: _type, ...info } = node;
    const creation = this.registry.add(info, connection, extended);
    connection.registered = node.name;
    this.pendingLocal.delete(connection); // only loopback clients register
    clearTimeout(connection.timer);
    connection.timer = undefined;
    socket.setKeepAlive(true, 5_000);
    socket.write(
      encodeAlive2Response({
        result: 0,
        creation: extended ? creation : (creation % 3) + 1,
        extended,
      }),
    );
    this.logger?.debug?.(M.registered(node.name, node.port, creation));
  }

  private refuseAlive2(connection: ClientConnection, extended: boolean): void {
    this.answer(
      connection,
      encodeAlive2Response({ result: 1, creation: EPMD_LIMITS.failedCreation, extended }),
    );
  }

  /** Writes a one-shot answer and ends the connection; the packet timer still bounds the flush. */
  private answer(connection: ClientConnection, bytes: Buffer): void {
    connection.answered = true;
    if (connection.socket.destroyed) return;
    connection.socket.end(bytes);
  }

  /** Closes a connection at once (its `close` event unregisters it). */
  private drop(connection: ClientConnection, why: string): void {
    if (!connection.socket.destroyed)
      this.logger?.debug?.(M.closedConnection(connection.remote, why));
    connection.socket.destroy();
    this.release(connection);
  }

  /** Forgets a closed connection, and its registration if it holds one. Idempotent. */
  private release(connection: ClientConnection): void {
    clearTimeout(connection.timer);
    connection.timer = undefined;
    connection.buffer = NO_BYTES;
    this.connections.delete(connection);
    this.pendingLocal.delete(connection);
    if (this.pendingRemote.delete(connection)) {
      const left = (this.pendingByAddress.get(connection.address) ?? 1) - 1;
      if (left > 0) this.pendingByAddress.set(connection.address, left);
      else this.pendingByAddress.delete(connection.address);
    }
    const name = connection.registered;
    if (name === undefined) return;
    connection.registered = undefined;
    if (this.registry.remove(name, connection)) this.logger?.debug?.(M.unregistered(name));
  }

  /** Logs hostile input once per source and `LOG_EVERY_MS`, with a count of what was held back. */
  private limitedLog(
    connection: ClientConnection,
    message: string,
    level: 'debug' | 'warn' = 'debug',
  ): void {
    const logger = this.logger;
    if (!logger) return;
    const write = (line: string) => (level === 'warn' ? logger.warn(line) : logger.debug?.(line));
    this.hostileLog.write(connection.socket.remoteAddress ?? '?', message, write);
  }
}

/**
 * Listens on `host:port`; a failure is `ERR_PORT_MAPPER_UNREACHABLE` with its `errno`
 * (`EADDRINUSE`: another process holds the port).
 */
function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new PortMapperError(M.listenFailed(mapperAddress(host, port), toError(error)), {
          code: 'ERR_PORT_MAPPER_UNREACHABLE',
          cause: error,
          errno: error.code,
        }),
      );
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
