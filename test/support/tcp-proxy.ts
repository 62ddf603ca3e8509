import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './managed-process.js';
import { type NetworkNamespace, waitForLine } from './netns.js';
import { routeJsonAnswers } from './json-answers.js';

/**
 * A small TCP proxy for fault tests: delay, jitter, stalls and cuts on real TCP streams, where
 * `tc netem` is not available. It forwards each route `listen -> target` in its own process
 * (test/fixtures/tcp-proxy.mjs), so that it can run inside a {@link NetworkNamespace} (together
 * with iptables' random loss there) as well as on the test machine's loopback.
 *
 * - Delay and jitter: each chunk read from one side is written to the other `delayMs ± jitterMs`
 *   later (uniform), but never before the chunk read before it, since a TCP stream cannot reorder:
 *   under jitter the spacing of chunks changes, their order never does.
 * - {@link TcpProxy.stall} holds every byte in both directions with the connections left open (a
 *   black hole: no RST, no FIN), {@link TcpProxy.resume} delivers what was held, in order.
 * - {@link TcpProxy.cut} resets every open connection; new ones are still accepted.
 * - {@link TcpProxy.stats} reports per route the connections accepted and open, bytes each way,
 *   the longest silence between two chunks of one direction of an open connection, as they
 *   arrived at the proxy and as it wrote them on (on an idle cluster link, the longest gap between
 *   heartbeats), and the longest silence still going on.
 * - With `bindSource`, the proxy dials the target from the client's own address (possible on
 *   loopback, where every 127.0.0.0/8 address is local), so the target sees the peer's address.
 *
 * Back-pressure: past 4 MiB queued in one direction the proxy stops reading that side.
 * The process is stopped by its pid ({@link TcpProxy.stop}), or SIGKILLed when the test process
 * exits.
 *
 * @example
 * ```ts
 * const proxy = await TcpProxy.start({
 *   routes: [{ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: 4370 } }],
 *   delayMs: 200,
 *   jitterMs: 50,
 * });
 * // dial 127.0.0.1:proxy.ports[0] instead of 4370
 * ```
 */
export class TcpProxy {
  private readonly pending = new Map<number, (answer: ProxyAnswer) => void>();
  private nextId = 1;

  private constructor(
    private readonly child: ChildProcess,
    /** The proxy process (its output lines are kept). */
    readonly process: ManagedProcess,
    /** The port each route listens on, in the order of `routes` (the chosen port for port 0). */
    readonly ports: readonly number[],
  ) {
    routeJsonAnswers(child, this.pending);
  }

  /**
   * Starts the proxy (inside `namespace` when given) and waits until every route listens.
   * @throws when the proxy exits or does not listen within `readyTimeoutMs` (default 10 s).
   */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const config = JSON.stringify({
      routes: options.routes,
      delayMs: options.delayMs ?? 0,
      jitterMs: options.jitterMs ?? 0,
      bindSource: options.bindSource ?? false,
    });
    const env = { PATH: process.env.PATH ?? '' };
    const child = options.namespace
      ? options.namespace.spawn(process.execPath, [SCRIPT, config], env)
      : spawn(process.execPath, [SCRIPT, config], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const managed = new ManagedProcess(child, { tag: '[proxy] ' });
    let ready: string;
    try {
      ready = await waitForLine(
        managed,
        /^\[proxy\] PROXY_READY /,
        options.readyTimeoutMs ?? 10_000,
        'the TCP proxy',
      );
    } catch (error) {
      await managed.stop(1_000);
      throw error;
    }
    const { ports } = JSON.parse(ready.slice(ready.indexOf('{'))) as { ports: number[] };
    return new TcpProxy(child, managed, ports);
  }

  /** Changes the delay and jitter of chunks read from now on. */
  async shape(shape: { delayMs?: number; jitterMs?: number }): Promise<void> {
    await this.command({ cmd: 'shape', ...shape });
  }

  /** Holds every byte in both directions; the connections stay open. */
  async stall(): Promise<void> {
    await this.command({ cmd: 'stall' });
  }

  /** Ends a {@link stall}: what was held is delivered, in order. */
  async resume(): Promise<void> {
    await this.command({ cmd: 'resume' });
  }

  /** Resets every open connection (RST on both sides); new connections are accepted. */
  async cut(): Promise<void> {
    await this.command({ cmd: 'cut' });
  }

  /** The counters of each route, in the order of `routes`. */
  async stats(): Promise<ProxyRouteStats[]> {
    return (await this.command({ cmd: 'stats' })).stats!;
  }

  /**
   * Starts the longest-gap counters of {@link stats} again from 0 (to measure one phase of a
   * test); a gap that spans the reset still counts in full when it ends.
   */
  async resetGaps(): Promise<void> {
    await this.command({ cmd: 'resetGaps' });
  }

  /** Stops the proxy process (closing every connection) and waits for it. */
  async stop(): Promise<void> {
    this.child.stdin?.end();
    await this.process.stop(2_000);
  }

  private command(command: { cmd: string } & Record<string, unknown>): Promise<ProxyAnswer> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.process.exitCode !== undefined) {
        reject(new Error(`the TCP proxy has exited:\n${this.process.output.join('\n')}`));
        return;
      }
      this.pending.set(id, answer =>
        answer.ok ? resolve(answer) : reject(new Error(`TCP proxy: ${answer.error}`)),
      );
      this.child.stdin?.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }
}

/** A host and port. */
export interface ProxyEndpoint {
  readonly host: string;
  readonly port: number;
}

/** One forwarding of a {@link TcpProxy}: connections accepted on `listen` go on to `target`. */
export interface ProxyRoute {
  /** Port 0 lets the kernel choose ({@link TcpProxy.ports} tells which). */
  readonly listen: ProxyEndpoint;
  readonly target: ProxyEndpoint;
}

/** Options of {@link TcpProxy.start}. */
export interface TcpProxyOptions {
  readonly routes: readonly ProxyRoute[];
  /** Added to every chunk, each way; 0 by default. */
  readonly delayMs?: number;
  /** Each chunk's delay is `delayMs` plus a uniform value in `[-jitterMs, +jitterMs]`. */
  readonly jitterMs?: number;
  /** Dial the target from the client's address (see {@link TcpProxy}); false by default. */
  readonly bindSource?: boolean;
  /** Run the proxy inside this namespace; on this machine's network when unset. */
  readonly namespace?: NetworkNamespace;
  readonly readyTimeoutMs?: number;
}

/** The counters of one route (see {@link TcpProxy.stats}). */
export interface ProxyRouteStats {
  readonly listen: ProxyEndpoint;
  readonly target: ProxyEndpoint;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections whose dial of the target succeeded (so both ends were linked through). */
  readonly established: number;
  /** Connections open now. */
  readonly open: number;
  /**
   * The numbers of the connections open now (unique over all routes, in order of acceptance), so
   * a test can tell a link kept from a link replaced.
   */
  readonly connections: readonly number[];
  /** Connections whose dial of the target failed. */
  readonly failedUpstream: number;
  readonly bytes: { readonly toTarget: number; readonly toClient: number };
  /** Longest silence between two chunks arriving in one direction of one connection. */
  readonly maxArrivalGapMs: number;
  /** Longest silence between two chunks the proxy wrote on, in one direction of one connection. */
  readonly maxDeliveryGapMs: number;
  /**
   * The longest time since the last chunk arrived in one direction of one open connection, at the
   * time of the call (a direction that went silent for good shows here, not in the gaps above).
   */
  readonly longestSilenceNowMs: number;
}

interface ProxyAnswer {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly stats?: ProxyRouteStats[];
}

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tcp-proxy.mjs');
