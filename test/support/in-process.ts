import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { FrameDecoder } from '../../src/distribution/tcp/frame-codec.js';
import {
  AcceptorHandshake,
  type HandshakeStep,
  InitiatorHandshake,
} from '../../src/distribution/tcp/handshake/index.js';
import { Mesh, type MeshOptions } from '../../src/distribution/tcp/mesh.js';
import { TestDiscovery } from '../../src/testing/index.js';
import {
  type ClusterEvent,
  type ClusterLogger,
  GenCluster,
  type GenClusterOptions,
  TcpDist,
  type TcpDistOptions,
} from '../../src/index.js';

/** A node in this process: a GenCluster on a real TCP dist, with its logs and events kept. */
export interface TestNode {
  readonly cluster: GenCluster;
  readonly dist: TcpDist;
  readonly discovery: TestDiscovery;
  readonly events: ClusterEvent[];
  readonly logs: string[];
  /** The port the dist listens on. */
  readonly port: number;
}

const started = new Set<GenCluster>();

/** A logger that keeps each line as `<level> <message>`, for tests to assert on. */
export function capturingLogger(): { logs: string[]; logger: ClusterLogger } {
  const logs: string[] = [];
  const logger: ClusterLogger = {
    debug: m => logs.push(`debug ${m}`),
    log: m => logs.push(`log ${m}`),
    warn: m => logs.push(`warn ${m}`),
    error: m => logs.push(`error ${m}`),
  };
  return { logs, logger };
}

/** Starts a node named `name` (host 127.0.0.1 unless the name says otherwise). */
export async function startInProcess(
  name: string,
  peers: string[] = [],
  tcp: TcpDistOptions = {},
  scheduler: Partial<GenClusterOptions> = {},
): Promise<TestNode> {
  const { logs, logger } = capturingLogger();
  const dist = new TcpDist({
    cookie: 'in-process-cookie',
    heartbeatMs: 200,
    failureTimeoutMs: 1_000,
    portMapper: false, // tests that want the port mapper give their own, on a port of their own
    ...tcp,
  });
  const discovery = new TestDiscovery(peers);
  const cluster = new GenCluster({
    node: name.includes('@') ? name : `${name}@127.0.0.1`,
    discovery,
    dist,
    logger,
    refreshIntervalMs: 200,
    backoff: { initialMs: 50, maxMs: 400 },
    ...scheduler,
  });
  const events: ClusterEvent[] = [];
  cluster.events$.subscribe(e => events.push(e));
  await cluster.start();
  started.add(cluster);
  return { cluster, dist, discovery, events, logs, port: dist.port! };
}

/** Stops every in-process node still running. */
export async function stopInProcess(): Promise<void> {
  await Promise.all([...started].map(c => c.stop()));
  started.clear();
}

// --- meshes and wire-level peers ------------------------------------------------------------

/** A bare {@link Mesh} (no engine) with what it reported, for tests of the link layer. */
export interface MeshNode {
  readonly mesh: Mesh;
  readonly name: string;
  readonly port: number;
  /** `up <node>`, `down <node> <reason>`, `message <node> <bytes>`, in order. */
  readonly events: string[];
  readonly messages: { from: string; bytes: Buffer }[];
  readonly logs: string[];
}

/** Test defaults of a mesh: fast heartbeats, loopback, the in-process cookie. */
export function meshOptions(self: string, extra: Partial<MeshOptions> = {}): MeshOptions {
  return {
    self,
    cookie: Buffer.from('in-process-cookie'),
    port: 0,
    bind: '127.0.0.1',
    hidden: false,
    transitive: true,
    maxPendingHandshakes: 256,
    maxPendingHandshakesPerIp: 32,
    heartbeatMs: 200,
    failureTimeoutMs: 1_000,
    handshakeStepTimeoutMs: 5_000,
    handshakeTotalTimeoutMs: 10_000,
    maxFramePayloadBytes: 1024 * 1024,
    maxMessageBytes: 64 * 1024 * 1024,
    maxQueueBytes: 64 * 1024 * 1024,
    maxQueueMessages: 10_000,
    ...extra,
  };
}

const meshes = new Set<Mesh>();
const wireResources = new Set<Server | Socket>();

/** Starts a bare mesh named `name` (host 127.0.0.1 unless the name says otherwise). */
export async function startMesh(name: string, extra: Partial<MeshOptions> = {}): Promise<MeshNode> {
  const self = name.includes('@') ? name : `${name}@127.0.0.1`;
  const events: string[] = [];
  const messages: { from: string; bytes: Buffer }[] = [];
  const { logs, logger } = capturingLogger();
  const mesh = new Mesh(
    meshOptions(self, extra),
    {
      nodeUp: peer => events.push(`up ${peer.node}`),
      nodeDown: (node, reason) => events.push(`down ${node} ${reason}`),
      message: (from, bytes) => {
        events.push(`message ${from} ${bytes.length}`);
        messages.push({ from, bytes: Buffer.from(bytes) });
      },
    },
    logger,
  );
  meshes.add(mesh);
  const port = await mesh.listen();
  return { mesh, name: self, port, events, messages, logs };
}

/** A peer speaking the wire protocol from the test itself, with what it received. */
export interface WirePeer {
  readonly socket: Socket;
  /** Frames received after the handshake. */
  readonly frames: { type: number; payload: Buffer }[];
  /** Writes frames in one write (one TCP segment where possible). */
  write(frames: Buffer[]): void;
}

/** Who a {@link WirePeer} claims to be. */
export interface WireIdentity {
  readonly name: string;
  readonly incarnation?: string;
  readonly listenPort?: number | null;
  readonly cookie?: string;
  readonly heartbeatMs?: number;
  readonly failureTimeoutMs?: number;
}

function identityOf(who: WireIdentity) {
  return {
    name: who.name,
    incarnation: who.incarnation ?? 'wire-peer',
    listenPort: who.listenPort ?? null,
    hidden: false,
    heartbeatMs: who.heartbeatMs ?? 200,
    failureTimeoutMs: who.failureTimeoutMs ?? 1_000,
  };
}

/** Reads frames from `socket`: handshake ones to `onHandshake` until it returns true, then kept. */
function wirePeer(socket: Socket, onHandshake: (payload: Buffer) => boolean): WirePeer {
  wireResources.add(socket);
  socket.on('error', () => undefined);
  const frames: { type: number; payload: Buffer }[] = [];
  let done = false;
  const decoder = new FrameDecoder({
    maxFrameBytes: 64 * 1024 * 1024,
    onFrame: (type, payload) => {
      if (done) frames.push({ type, payload: Buffer.from(payload) });
      else done = onHandshake(payload);
    },
    onError: () => socket.destroy(),
  });
  socket.on('data', chunk => decoder.push(chunk));
  return { socket, frames, write: list => socket.write(Buffer.concat(list)) };
}

/**
 * A listener that runs the acceptor's side of the handshake (accepting every authenticated
 * initiator) and hands each established peer to `onPeer`, with `after` written in the same write
 * as the acknowledgement.
 */
export async function wireAcceptor(
  who: WireIdentity,
  onPeer: (peer: WirePeer) => void = () => undefined,
  after: () => Buffer[] = () => [],
): Promise<{ port: number }> {
  const server = createServer(socket => {
    const handshake = new AcceptorHandshake({
      self: identityOf(who),
      cookie: who.cookie ?? 'in-process-cookie',
      decide: () => ({ ok: true }),
    });
    const peer = wirePeer(socket, payload => {
      const step = handshake.receive(payload) as HandshakeStep;
      const out = [...(step.send ?? [])];
      if (step.done) out.push(...after());
      if (out.length) socket.write(Buffer.concat(out));
      if (step.error) socket.destroy();
      if (step.done) onPeer(peer);
      return step.done !== undefined;
    });
  });
  wireResources.add(server);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port };
}

/** Dials `port` and runs the initiator's side of the handshake; resolves once established. */
export function wireInitiator(
  port: number,
  who: WireIdentity,
  expectedName: string,
): Promise<WirePeer> {
  return new Promise((resolve, reject) => {
    const handshake = new InitiatorHandshake({
      self: identityOf(who),
      cookie: who.cookie ?? 'in-process-cookie',
      expectedName,
    });
    const socket = createConnection({ host: '127.0.0.1', port });
    const peer = wirePeer(socket, payload => {
      const step = handshake.receive(payload);
      if (step.send?.length) socket.write(Buffer.concat(step.send));
      if (step.error) reject(step.error);
      if (step.done) resolve(peer);
      return step.done !== undefined;
    });
    socket.on('close', () => reject(new Error('closed during the handshake')));
    socket.write(Buffer.concat(handshake.start().send ?? []));
  });
}

/** Closes every mesh, listener and socket of the helpers above. */
export async function stopMeshes(): Promise<void> {
  const all = [...meshes];
  meshes.clear();
  await Promise.all(all.map(m => m.close()));
  for (const handle of wireResources) if ('destroy' in handle) handle.destroy();
  await Promise.all(
    [...wireResources]
      .filter((h): h is Server => !('destroy' in h))
      .map(s => new Promise(resolve => s.close(resolve))),
  );
  wireResources.clear();
}
