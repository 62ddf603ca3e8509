import { type ChildProcess, fork } from 'node:child_process';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameDecoder } from '../../src/distribution/tcp/frame-codec.js';
import { InitiatorHandshake } from '../../src/distribution/tcp/handshake/index.js';
import { until } from '../support/wait.js';

/**
 * Memory after handshake storms (issue 12, "Smaller findings"): the resident size of a node stays
 * 20-40 MiB above its baseline after a storm of refused handshakes, although its heap recovers.
 * Measured here on a separate process (test/fixtures/handshake-storm-node.mjs): what stays is
 * V8's young generation, grown to its maximum (2 x 16 MiB semi-spaces by default) by the burst of
 * short-lived allocations, which V8 gives back only at a later collection once allocation is slow
 * again. Asserted: heap used, external memory, array buffers and handles come back to baseline
 * after every storm; the memory outside V8's heap does not grow; RSS does not grow from storm to
 * storm; and with `--max-semi-space-size=1` the residue is a few MiB.
 *
 * `STORM_HANDSHAKES` sets the size of each storm (default 2,000), `STORMS` their number (3).
 */

const script = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'handshake-storm-node.mjs',
);
const HANDSHAKES = Number(process.env.STORM_HANDSHAKES ?? 2_000);
const STORMS = Number(process.env.STORMS ?? 3);
const CONCURRENCY = 64;

interface Report {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** The kinds of the active handles (timers left out), sorted. */
  handles: string;
  anonymous: number;
  newSpace: number;
}

/** The target process, asked for its memory over IPC. */
class Target {
  private waiting: ((message: unknown) => void) | undefined;
  readonly ready: Promise<{ port: number }>;
  readonly child: ChildProcess;

  constructor(flags: string[]) {
    this.child = fork(script, [], { execArgv: ['--expose-gc', ...flags], stdio: 'inherit' });
    this.child.on('message', message => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(message);
    });
    this.ready = new Promise(resolve => (this.waiting = resolve as (m: unknown) => void));
  }

  ask(message: 'mem' | 'gc'): Promise<Report> {
    return new Promise(resolve => {
      this.waiting = resolve as (m: unknown) => void;
      this.child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise(resolve => this.child.once('exit', resolve));
    this.child.send('stop');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** One handshake with a wrong cookie, driven to the refusal; resolves when the target closes. */
function refusedHandshake(port: number, i: number): Promise<void> {
  return new Promise(resolve => {
    const handshake = new InitiatorHandshake({
      self: {
        name: `storm${i}@127.0.0.1`,
        incarnation: `s${i}`,
        listenPort: null,
        hidden: false,
        heartbeatMs: 1_000,
        failureTimeoutMs: 5_000,
      },
      cookie: 'a-wrong-cookie',
      expectedName: 'target@127.0.0.1',
    });
    const socket = createConnection({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder({
      maxFrameBytes: 65_536,
      onFrame: (_type, payload) => {
        const step = handshake.receive(Buffer.from(payload));
        if (step.send?.length) socket.write(Buffer.concat(step.send));
      },
      onError: () => socket.destroy(),
    });
    socket.on('error', () => undefined);
    socket.on('data', chunk => decoder.push(chunk));
    socket.once('connect', () => socket.write(Buffer.concat(handshake.start().send ?? [])));
    socket.once('close', () => resolve());
  });
}

async function storm(port: number, total: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await refusedHandshake(port, next++);
    }),
  );
}

describe('memory after handshake storms', () => {
  const targets: Target[] = [];

  afterAll(async () => {
    await Promise.all(targets.map(t => t.stop()));
  });

  it(`gives back heap, buffers and handles after each of ${STORMS} storms of ${HANDSHAKES} refused handshakes; what stays is V8's young generation`, async () => {
    const target = new Target([]);
    targets.push(target);
    const { port } = await target.ready;
    const baseline = await target.ask('gc');
    const after: Report[] = [];
    for (let i = 0; i < STORMS; i++) {
      await storm(port, HANDSHAKES);
      // the target closes the last refused sockets a moment after the storm's own ends see it
      await until(
        async () => (await target.ask('mem')).handles === baseline.handles,
        10_000,
        `the handles of storm ${i + 1} to close`,
        200,
      );
      after.push(await target.ask('gc'));
    }
    process.stdout.write(
      `handshake storms, default flags: baseline ${JSON.stringify(baseline)}\n` +
        after.map((r, i) => `  after storm ${i + 1} and gc: ${JSON.stringify(r)}\n`).join(''),
    );
    for (const r of after) {
      expect(r.heapUsed).toBeLessThanOrEqual(baseline.heapUsed + 4);
      expect(r.external).toBeLessThanOrEqual(baseline.external + 1);
      expect(r.arrayBuffers).toBeLessThanOrEqual(baseline.arrayBuffers + 1);
      expect(r.handles).toBe(baseline.handles);
      // Outside V8's heap (sockets, TLS, buffers, malloc arenas) nothing stays. heapTotal counts
      // the young generation's committed pages whether or not they are resident: a fresh
      // process may hold them committed but untouched, and a storm touches them, so up to
      // `newSpace` of RSS moves into the young generation without anything staying outside the
      // heap (about one run in five, on earlier builds too). The strict bound on RSS is the
      // --max-semi-space-size=1 case below, and the storm-to-storm bound after this loop.
      expect(r.rss - r.heapTotal).toBeLessThanOrEqual(
        baseline.rss - baseline.heapTotal + 10 + r.newSpace,
      );
    }
    // no growth from storm to storm: the residue is a ceiling, not a leak
    expect(after[after.length - 1]!.rss).toBeLessThanOrEqual(after[0]!.rss + 6);
  });

  it('stays within a few MiB of its baseline with --max-semi-space-size=1', async () => {
    const target = new Target(['--max-semi-space-size=1']);
    targets.push(target);
    const { port } = await target.ready;
    const baseline = await target.ask('gc');
    const after: Report[] = [];
    for (let i = 0; i < STORMS; i++) {
      await storm(port, HANDSHAKES);
      after.push(await target.ask('gc'));
    }
    process.stdout.write(
      `handshake storms, --max-semi-space-size=1: baseline ${JSON.stringify(baseline)}\n` +
        after.map((r, i) => `  after storm ${i + 1} and gc: ${JSON.stringify(r)}\n`).join(''),
    );
    for (const r of after) {
      expect(r.newSpace).toBeLessThanOrEqual(4);
      expect(r.rss).toBeLessThanOrEqual(baseline.rss + 10);
    }
  });
});
