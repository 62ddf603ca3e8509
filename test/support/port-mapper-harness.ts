/**
 * What the port mapper e2e suites share: raw connections to a mapper, hand-built EPMD requests,
 * and a fixture that releases every mapper, socket, registration and child process a test made,
 * even when the test fails. Every mapper here listens on a port of its own (ephemeral or free),
 * never on the machine-wide one, so suites can run at the same time.
 */
import type { ChildProcess } from 'node:child_process';
import { type Server, type Socket, connect, createServer } from 'node:net';
import {
  PortMapperClient,
  type PortMapperRegistration,
  PortMapperServer,
  type PortMapperServerOptions,
  type RegisteredNode,
} from '../../src/portmapper/index.js';
import { until } from './wait.js';

/** A raw TCP connection to a mapper: what it received, and when it was closed. */
export class RawConnection {
  received = Buffer.alloc(0);
  closedAfterMs: number | undefined;
  readonly closed: Promise<void>;
  private readonly opened = performance.now();

  constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    socket.on('data', chunk => (this.received = Buffer.concat([this.received, chunk])));
    this.closed = new Promise(resolve =>
      socket.once('close', () => {
        this.closedAfterMs = performance.now() - this.opened;
        resolve();
      }),
    );
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Waits until the mapper closed the connection, or fails after `ms`. */
  async closedWithin(ms: number): Promise<number> {
    await until(() => this.closedAfterMs !== undefined, ms, 'the mapper to close the connection');
    return this.closedAfterMs!;
  }
}

/** Everything a port mapper test starts, released by {@link PortMapperFixtures.release}. */
export class PortMapperFixtures {
  readonly handles: RegisteredNode[] = [];
  readonly registrations: PortMapperRegistration[] = [];
  readonly listeners: Server[] = [];
  readonly children: ChildProcess[] = [];
  private readonly servers: PortMapperServer[] = [];
  /** Open raw sockets only: each leaves the set when it closes. */
  private readonly sockets = new Set<Socket>();

  /** A mapper on an ephemeral port (unless `options.port` names one). */
  async mapper(options: PortMapperServerOptions = {}): Promise<PortMapperServer> {
    const server = await PortMapperServer.start({ port: 0, packetTimeoutMs: 5_000, ...options });
    this.servers.push(server);
    return server;
  }

  /** A listener on an ephemeral port, standing for a node's dist listener. */
  async distPort(): Promise<number> {
    const server = createServer(socket => socket.destroy());
    this.listeners.push(server);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  /** A raw connection to the mapper on `port`. */
  async raw(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    const socket = connect({ port, host });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConnection(socket);
  }

  /** Stops what the test started: child processes, sockets, registrations, mappers, listeners. */
  async release(): Promise<void> {
    for (const child of this.children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(this.handles.splice(0).map(h => h.close()));
    await Promise.all(this.registrations.splice(0).map(r => r.close()));
    await Promise.all(this.servers.splice(0).map(s => s.close()));
    await Promise.all(this.listeners.splice(0).map(s => new Promise(r => s.close(r))));
  }
}

/** `body` with its 2-byte length prefix. */
export const frame = (body: Buffer) => {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(body.length);
  return Buffer.concat([head, body]);
};

/** An ALIVE2_REQ body; `extraLength` may lie about the extra bytes that follow. */
export function alive2(
  name: Buffer | string,
  port = 40_000,
  extra = Buffer.alloc(0),
  extraLength = extra.length,
  highestVersion = 6,
): Buffer {
  const n = typeof name === 'string' ? Buffer.from(name) : name;
  const head = Buffer.alloc(11);
  head[0] = 120;
  head.writeUInt16BE(port, 1);
  head[3] = 77;
  head[4] = 0;
  head.writeUInt16BE(highestVersion, 5);
  head.writeUInt16BE(5, 7);
  head.writeUInt16BE(n.length, 9);
  const e = Buffer.alloc(2);
  e.writeUInt16BE(extraLength);
  return Buffer.concat([head, n, e, extra]);
}

/** epmd's answer to a refused ALIVE2_REQ of an OTP 23+ node (ALIVE2_X_RESP, result 1). */
export const REFUSED_X = Buffer.from([118, 1, 0, 0, 0, 99]);

/** The names a mapper lists, as sorted `name:port` strings. */
export async function namesOf(port: number, host = '127.0.0.1'): Promise<string[]> {
  const list = await new PortMapperClient({ port }).names(host);
  return list.map(e => `${e.name}:${e.port}`).sort();
}

/** Runs `task` over `items` with at most `limit` at once. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}
