/**
 * The receive deadline of an authenticated link (reliability scenarios 31 and 32): a peer that
 * trickles a frame or a fragmented message is closed, a peer that dies mid-message leaves nothing
 * behind, and a slow but steady sender is never cut. Real sockets on loopback: a mesh receives, a
 * wire-level peer written in the test sends exactly the bytes each case needs.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Connection } from '../../src/distribution/tcp/connection.js';
import { encodeFragmentHeader } from '../../src/distribution/tcp/fragment-header.js';
import {
  FrameType,
  encodeFrame,
  encodeFrameHeader,
} from '../../src/distribution/tcp/frame-codec.js';
import {
  type MeshNode,
  type WirePeer,
  startMesh,
  stopMeshes,
  wireInitiator,
} from '../support/in-process.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;
const ATTACKER = 'a@127.0.0.1';
/** Short timings so each case takes about a second; both ends must agree on them. */
const TIMINGS = { heartbeatMs: 100, failureTimeoutMs: 500 };

/** Heap and buffer memory after a full collection. */
function memory(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Waits until memory is back within 1 MiB of `baseline` (buffers are freed lazily). */
async function backToBaseline(baseline: number): Promise<number> {
  let growth = Infinity;
  try {
    await until(
      () => {
        growth = memory() - baseline;
        return growth < MiB;
      },
      10_000,
      'heap back within 1 MiB of its baseline',
      100,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${growth} bytes above it`);
  }
  return growth;
}

/** The payload of one `DataFragment` frame. */
const fragment = (id: number, data: Buffer, last = false) =>
  encodeFrame(FrameType.DataFragment, Buffer.concat([encodeFragmentHeader(id, last), data]));

/** Bytes that are not all zero, so no layer can share pages for them. */
function filled(bytes: number): Buffer {
  const buffer = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += 4096) buffer[i] = i & 0xff;
  return buffer;
}

/** A receiving mesh with `extra` options and an authenticated wire peer linked to it. */
async function linked(extra: Parameters<typeof startMesh>[1] = {}) {
  const b = await startMesh('b', { ...TIMINGS, ...extra });
  const peer = await wireInitiator(b.port, { name: ATTACKER, ...TIMINGS }, b.name);
  await until(() => b.events.includes(`up ${ATTACKER}`), 5_000, 'the wire peer linked');
  const connection = b.mesh.connectionTo(ATTACKER)!;
  return { b, peer, connection };
}

/** Runs `step` every `everyMs` until the returned stop function is called. */
function every(everyMs: number, step: () => void): () => void {
  const timer = setInterval(step, everyMs);
  return () => clearInterval(timer);
}

/** Waits for the link to the attacker to go down, and returns when (performance.now()). */
async function down(b: MeshNode, reason: string, withinMs: number): Promise<number> {
  await until(() => b.events.some(e => e.startsWith(`down ${ATTACKER}`)), withinMs, 'link down');
  const at = performance.now();
  expect(b.events.filter(e => e.startsWith(`down ${ATTACKER}`))).toEqual([
    `down ${ATTACKER} ${reason}`,
  ]);
  return at;
}

/** The log line of the close, which must say why. */
function closeLog(b: MeshNode): string {
  const lines = b.logs.filter(l => l.startsWith(`warn Link to ${ATTACKER} closed:`));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

afterEach(stopMeshes);

describe('receive deadline after authentication (scenario 31)', () => {
  it.each([
    ['from its first byte', 0],
    ['after a burst of 512 KiB', 512 * 1024],
  ])(
    'closes a peer that declares a 1 MiB frame and trickles it %s, and frees what it held',
    async (_, burst) => {
      // 4 MiB/s: a burst of 512 KiB earns 125 ms of credit on top of the failure timeout.
      const { b, peer, connection } = await linked({ minReceiveBytesPerSecond: 4 * MiB });
      const baseline = memory();
      peer.socket.write(
        Buffer.concat([encodeFrameHeader(FrameType.Data, MiB), filled(burst).subarray(0, burst)]),
      );
      const started = performance.now();
      const stop = every(50, () => peer.socket.write(Buffer.from([0x2a])));
      try {
        const closedAt = await down(b, 'heartbeatTimeout', 10_000);
        // Not before its deadline (failure timeout + burst at the minimum rate), nor long after.
        const allowed = TIMINGS.failureTimeoutMs + (burst / (4 * MiB)) * 1_000;
        expect(closedAt - started).toBeGreaterThanOrEqual(allowed - 50);
        expect(closedAt - started).toBeLessThan(allowed + 5_000);
      } finally {
        stop();
      }
      expect(closeLog(b)).toMatch(
        /A frame from a@127\.0\.0\.1 made too little progress: \d+ bytes/,
      );
      expect(connection.partialBytes).toBe(0);
      await backToBaseline(baseline);
    },
  );

  it('closes a peer whose fragmented message stops getting fragments while the link idles', async () => {
    const { b, peer, connection } = await linked({ minReceiveBytesPerSecond: 4 * MiB });
    const baseline = memory();
    peer.socket.write(fragment(7, filled(512 * 1024)));
    await until(() => connection.partialBytes >= 512 * 1024, 5_000, 'the fragment received');
    // Ticks keep the link alive: only the message's own deadline can close it.
    const stop = every(50, () => peer.socket.write(encodeFrame(FrameType.Tick)));
    try {
      await down(b, 'heartbeatTimeout', 10_000);
    } finally {
      stop();
    }
    expect(closeLog(b)).toMatch(/No fragment of a message in progress from a@127\.0\.0\.1/);
    expect(connection.partialBytes).toBe(0);
    await backToBaseline(baseline);
  });

  it('closes a peer that keeps a fragmented message alive with empty fragments', async () => {
    const { b, peer, connection } = await linked({ minReceiveBytesPerSecond: 4 * MiB });
    const baseline = memory();
    peer.socket.write(fragment(7, filled(512 * 1024)));
    const stop = every(50, () => peer.socket.write(fragment(7, Buffer.alloc(0))));
    try {
      await down(b, 'heartbeatTimeout', 10_000);
    } finally {
      stop();
    }
    expect(closeLog(b)).toMatch(
      /A fragmented message from a@127\.0\.0\.1 made too little progress/,
    );
    expect(connection.partialBytes).toBe(0);
    await backToBaseline(baseline);
  });

  it('does not cut a slow but steady sender of a large frame and a large fragmented message', async () => {
    // 256 KiB/s minimum; the sender paces 1 MiB/s: the frame takes about 1 s and the message 3 s,
    // both longer than the failure timeout, which alone (without the size term) would cut them.
    const { b, peer } = await linked({ minReceiveBytesPerSecond: 256 * 1024 });
    const frame = encodeFrame(FrameType.Data, filled(MiB - 64));
    const message = filled(3 * MiB);
    const fragments: Buffer[] = [];
    for (let offset = 0; offset < message.length; offset += 64 * 1024) {
      const end = Math.min(offset + 64 * 1024, message.length);
      fragments.push(fragment(11, message.subarray(offset, end), end === message.length));
    }
    const stream = Buffer.concat([frame, ...fragments]);
    await paced(peer, stream, MiB);
    await until(() => b.messages.length === 2, 10_000, 'both messages delivered');
    expect(b.messages.map(m => m.bytes.length)).toEqual([MiB - 64, 3 * MiB]);
    expect(b.messages[1]!.bytes.equals(message)).toBe(true);
    expect(b.events.filter(e => e.startsWith('down'))).toEqual([]);
  });

  it('does not cut 32 MiB messages between two meshes on loopback under load (default rate)', async () => {
    // The dist's default timings: this case is about the receive deadline, not about the silence
    // rule of a process that runs both ends (its loop stalls while it copies 32 MiB buffers).
    const options = { maxQueueBytes: 128 * MiB, heartbeatMs: 1_000, failureTimeoutMs: 5_000 };
    const a = await startMesh('a', options);
    const b = await startMesh('b', options);
    expect(await a.mesh.connect({ node: b.name, port: b.port })).toBe(true);
    const link = a.mesh.connectionTo(b.name)!;
    const big = filled(32 * MiB);
    for (let i = 0; i < 3; i++) link.enqueue([big]);
    // 1 KiB messages meanwhile (at most 100 in flight), interleaved with the fragments.
    let small = 0;
    const stop = every(5, () => {
      if (small - b.messages.filter(m => m.bytes.length === 1024).length < 100) {
        link.enqueue([filled(1024)]);
        small++;
      }
    });
    const downs = () => [...a.events, ...b.events].filter(e => e.startsWith('down'));
    try {
      await until(
        () =>
          downs().length > 0 || b.messages.filter(m => m.bytes.length === 32 * MiB).length === 3,
        50_000,
        'three 32 MiB messages delivered',
      );
    } finally {
      stop();
    }
    expect({ downs: downs(), logs: [...a.logs, ...b.logs] }).toEqual({ downs: [], logs: [] });
    expect(small).toBeGreaterThan(0);
  });
});

describe('a fragmented message aborted mid-stream (scenario 32)', () => {
  it.each([
    ['destroyed (FIN)', (peer: WirePeer) => peer.socket.destroy()],
    ['reset (RST)', (peer: WirePeer) => peer.socket.resetAndDestroy()],
  ])(
    'frees every partial buffer when the sender is %s mid-message and mid-frame',
    async (_, kill) => {
      const { b, peer, connection } = await linked();
      let held: Connection | undefined = connection;
      const baseline = memory();
      const partial = writeAbortedMessage(peer);
      await until(() => held!.partialBytes >= partial, 10_000, 'the partial message received');
      kill(peer);
      await down(b, 'connectionClosed', 10_000);
      // The test still holds the connection: what it held must be dropped, not only unreachable.
      expect(held.partialBytes).toBe(0);
      await backToBaseline(baseline);
      held = undefined;
    },
  );

  it('frees every partial buffer when the process carrying the stream is killed (SIGKILL)', async () => {
    const b = await startMesh('b', TIMINGS);
    // The sender's bytes go through a proxy process; killing it ends the stream as a crash does.
    const proxy = await TcpProxy.start({
      routes: [
        { listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: b.port } },
      ],
    });
    try {
      const peer = await wireInitiator(proxy.ports[0]!, { name: ATTACKER, ...TIMINGS }, b.name);
      await until(() => b.events.includes(`up ${ATTACKER}`), 5_000, 'the wire peer linked');
      let held: Connection | undefined = b.mesh.connectionTo(ATTACKER)!;
      const baseline = memory();
      const partial = writeAbortedMessage(peer);
      await until(() => held!.partialBytes >= partial, 10_000, 'the partial message received');
      await proxy.process.kill();
      await down(b, 'connectionClosed', 10_000);
      expect(held.partialBytes).toBe(0);
      await backToBaseline(baseline);
      held = undefined;
    } finally {
      await proxy.stop();
    }
  });
});

/**
 * Writes 8 MiB of a fragmented message, then half of the next fragment's frame (nothing of it
 * stays referenced here); returns the bytes the receiver then holds.
 */
function writeAbortedMessage(peer: WirePeer): number {
  for (let i = 0; i < 8; i++) peer.socket.write(fragment(9, filled(MiB - 64)));
  const next = fragment(9, filled(MiB - 64));
  peer.socket.write(next.subarray(0, next.length >> 1));
  return 8 * (MiB - 64) + (next.length >> 1) - 4;
}

/** Writes `stream` at about `bytesPerSecond`, paced on elapsed time (timer delays only add bursts). */
async function paced(peer: WirePeer, stream: Buffer, bytesPerSecond: number): Promise<void> {
  const started = performance.now();
  let sent = 0;
  await until(
    () => {
      const due = Math.min(
        stream.length,
        Math.floor(((performance.now() - started) / 1_000) * bytesPerSecond),
      );
      if (due > sent) peer.socket.write(stream.subarray(sent, due));
      sent = due;
      return sent === stream.length;
    },
    60_000,
    'the paced stream written',
    10,
  );
}
