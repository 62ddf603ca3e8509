// Small helpers shared by the orchestrator and the children.
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repository = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The build the benchmark measures: the repository's dist/, or the one BENCH_DIST names (relative
 * to the repository), to compare two builds of the library. A build outside the repository needs
 * a node_modules beside it (a symbolic link to the repository's) so its imports resolve.
 */
export const DIST_DIR = resolve(repository, process.env.BENCH_DIST ?? 'dist');

/** The URL of `file` of the measured build's src/, for `import()`. */
export const distUrl = (...file) => pathToFileURL(join(DIST_DIR, 'src', ...file)).href;

/** Wall-clock milliseconds with sub-ms resolution, comparable across processes. */
export const now = () => performance.timeOrigin + performance.now();
export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
export const yieldTurn = () => new Promise(resolve => setImmediate(resolve));

/** Median, min and max of a list of numbers (nulls ignored); null fields when empty. */
export function summarize(values) {
  const xs = values.filter(v => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return { median: null, min: null, max: null, runs: 0 };
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median, min: xs[0], max: xs[xs.length - 1], runs: xs.length };
}

/** The p-th percentile of a sorted Float64Array/array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Latency samples with a fixed capacity: reservoir sampling keeps an unbiased sample however
 * many requests a run makes, so memory stays bounded.
 */
export class Reservoir {
  constructor(capacity = 1 << 18) {
    this.values = new Float64Array(capacity);
    this.size = 0;
    this.seen = 0;
  }
  add(value) {
    this.seen++;
    if (this.size < this.values.length) this.values[this.size++] = value;
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.values.length) this.values[j] = value;
    }
  }
  sorted() {
    return this.values.slice(0, this.size).sort();
  }
}

/** `count` distinct free TCP ports on 127.0.0.1 (held open together, so they are distinct). */
export async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map(s => s.address().port);
  } finally {
    await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))));
  }
}

/** The JS value sent by the framework stacks for a payload of `bytes` (a string field). */
export const payloadOf = bytes => ({ d: 'x'.repeat(bytes) });

/**
 * The client side of this library's stacks: requests to the server's `echo`, a barrier on its
 * `count`, and one-way `sink` messages sent until the time is up (ERR_QUEUE_FULL means: yield
 * and try again). `messaging` has `request(node, topic, payload, options?)` and
 * `send(node, topic, payload)` (the raw messaging or a ClusterService); `close` ends the client.
 */
export function messagingClient(messaging, server, close) {
  let payload = payloadOf(32);
  return {
    prepare(size) {
      payload = payloadOf(size);
    },
    issue(cb) {
      messaging.request(server, 'echo', payload).then(() => cb(), cb);
    },
    barrier: () => messaging.request(server, 'count', null, { timeoutMs: 60_000 }),
    async oneway(ms, maxCount) {
      const end = performance.now() + ms;
      let sent = 0;
      while (sent < maxCount && performance.now() < end) {
        try {
          for (let i = 0; i < 1024 && sent < maxCount; i++) {
            messaging.send(server, 'sink', payload);
            sent++;
          }
        } catch (error) {
          if (error?.code !== 'ERR_QUEUE_FULL') throw error;
        }
        await yieldTurn();
      }
      return sent;
    },
    close,
  };
}

export const sizeLabel = bytes =>
  bytes >= 1024 * 1024
    ? `${bytes / 1024 / 1024} MiB`
    : bytes >= 1024
      ? `${bytes / 1024} KiB`
      : `${bytes} B`;

export function fmt(value, digits) {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  if (digits === undefined)
    digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
