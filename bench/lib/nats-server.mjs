// A nats-server for the benchmark's NATS stacks and the scale runner: Debian's `nats-server`
// started on 127.0.0.1 with a free client port and a free monitoring port (`-m`, for /varz),
// ready once the monitoring endpoint answers /healthz; killed by pid when stopped, when this
// process exits and on SIGINT/SIGTERM (bench/lib/procs.mjs exits on those, which runs the exit
// hook). Its CPU time is read from /proc/<pid>/stat, its counters from /varz.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { freePorts, sleep } from './common.mjs';

/** Where Debian installs it (sbin is not on every user's PATH). */
const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/** The nats-server binary, or null if it is not installed. */
export const natsServerBinary = () =>
  process.env.BENCH_NATS_SERVER ?? CANDIDATES.find(path => existsSync(path)) ?? null;

const live = new Set();
process.once('exit', () => {
  for (const server of live) server.killNow();
});

/** GET http://127.0.0.1:<port><path> as JSON (or text), bounded in time. */
function get(port, path, timeoutMs = 2_000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`${path}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve(text);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: timed out`)));
    req.on('error', reject);
  });
}

/** CPU seconds (user + system) of process `pid` from /proc, or null. */
export function procCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (fields 14 and 15 of stat(5)), in clock ticks
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** Resident set size of process `pid` in bytes, from /proc, or null. */
export function procRssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** sysconf(_SC_CLK_TCK): 100 on Linux (every architecture Node runs on). */
const CLOCK_TICKS = 100;

export class BenchNatsServer {
  /** @private */
  constructor(proc, port, monitorPort) {
    this.proc = proc;
    this.pid = proc.pid;
    this.port = port;
    this.monitorPort = monitorPort;
    this.url = `nats://127.0.0.1:${port}`;
    this.output = [];
    this.exited = false;
    const keep = chunk => {
      this.output.push(chunk.toString('utf8'));
      if (this.output.length > 200) this.output.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exit = new Promise(resolve =>
      proc.once('exit', () => {
        this.exited = true;
        live.delete(this);
        resolve();
      }),
    );
    proc.on('error', () => undefined);
    live.add(this);
  }

  /**
   * Starts one on free ports; resolves when /healthz answers and the client port is open.
   * `args` are extra command-line arguments (e.g. `--max_pending`).
   */
  static async start({ args = [], readyTimeoutMs = 10_000 } = {}) {
    const binary = natsServerBinary();
    if (!binary)
      throw new Error(
        'nats-server is not installed (Debian package "nats-server"; or set BENCH_NATS_SERVER)',
      );
    const [port, monitorPort] = await freePorts(2);
    const proc = spawn(
      binary,
      [
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '-m',
        String(monitorPort),
        '-n',
        `bench-${process.pid}`,
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new BenchNatsServer(proc, port, monitorPort);
    const deadline = performance.now() + readyTimeoutMs;
    for (;;) {
      if (server.exited)
        throw new Error(`nats-server exited at start: ${server.output.join('').slice(-1000)}`);
      try {
        await get(monitorPort, '/healthz', 500);
        return server;
      } catch {
        if (performance.now() > deadline) {
          server.killNow();
          throw new Error(
            `nats-server not ready within ${readyTimeoutMs} ms: ${server.output.join('').slice(-1000)}`,
          );
        }
        await sleep(50);
      }
    }
  }

  /** The server's /varz (in_msgs, out_msgs, in_bytes, out_bytes, connections, cpu, mem, ...). */
  varz() {
    return get(this.monitorPort, '/varz');
  }

  /** CPU seconds the server process has used so far (from /proc). */
  cpuSeconds() {
    return procCpuSeconds(this.pid);
  }

  rssBytes() {
    return procRssBytes(this.pid);
  }

  killNow() {
    if (this.exited) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 2_000) {
    if (this.exited) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.killNow(), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}
