import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../support/managed-process.js';
import type { NetworkNamespace } from '../support/netns.js';
import { TEST_COOKIE } from '../support/nodes.js';
import { until } from '../support/wait.js';
import { chaosAddress } from './chaos-network.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Every node listens on this port in its own namespace (as pods of one service do). */
export const CHAOS_PORT = 4370;

/** One `CHAOS_VIEW` report of a node. */
export interface ChaosView {
  readonly members: readonly string[];
  readonly pending: number;
  readonly oldestPendingMs: number;
  readonly sent: number;
  readonly answered: number;
  readonly failed: number;
}

/** One `CHAOS_MEM` report: after a full GC when the node runs with `--expose-gc`. */
export interface ChaosMemory {
  readonly heapUsed: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly gc: boolean;
}

/** One `CHAOS_EVENT` report. */
export interface ChaosEvent {
  readonly seq: number;
  readonly type: 'nodeUp' | 'nodeDown';
  readonly node: string;
  readonly reason?: string;
}

/** What a node's process reports, line by line, to whoever watches it. */
export interface ChaosNodeListener {
  event(node: ChaosNode, event: ChaosEvent): void;
  view(node: ChaosNode, view: ChaosView): void;
  memory(node: ChaosNode, memory: ChaosMemory): void;
  /** Any other output line (logs, warnings, stack traces). */
  line(node: ChaosNode, line: string): void;
  /** The process exited; `expected` when the harness killed or stopped it. */
  exited(node: ChaosNode, code: number | null, signal: string | null, expected: boolean): void;
}

/** The state of a chaos node as the harness made it. */
export type ChaosNodeState = 'down' | 'running' | 'stopped';

/**
 * One node of the chaos cluster: a slot (index, name, namespace) that successive processes
 * (incarnations) occupy. Each incarnation runs test/chaos/chaos-process.mjs inside the slot's
 * namespace, listening on `10.77.0.<index + 1>:4370`, with static discovery of every slot.
 */
export class ChaosNode {
  readonly name: string;
  state: ChaosNodeState = 'down';
  /** 0 for the first process in this slot, +1 per start. */
  incarnation = -1;
  process: ManagedProcess | undefined;
  lastView: ChaosView | undefined;
  /** `performance.now()` of the last SIGCONT (a resumed node runs overdue timers late). */
  resumedAt = -Infinity;
  private expectExit = false;

  constructor(
    readonly index: number,
    private readonly host: NetworkNamespace,
    private readonly names: readonly string[],
    private readonly options: object,
    private readonly listener: ChaosNodeListener,
    private readonly requestTimeoutMs: number,
    /** The node program: test/chaos/chaos-process.mjs, in the run's copy of the build. */
    private readonly script: string,
  ) {
    this.name = names[index]!;
  }

  /** The name of slot `index`. */
  static nameOf(index: number): string {
    return `n${index}@${chaosAddress(index)}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Starts a new incarnation and waits for its `CHAOS_READY` line. */
  async start(timeoutMs: number): Promise<void> {
    if (this.state !== 'down') throw new Error(`${this.name} is already ${this.state}`);
    this.incarnation++;
    this.lastView = undefined;
    this.expectExit = false;
    const child = this.host.spawn(
      process.execPath,
      ['--expose-gc', this.script],
      {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        GEN_CLUSTER_NODE: this.name,
        GEN_CLUSTER_PORT: String(CHAOS_PORT),
        GEN_CLUSTER_COOKIE: TEST_COOKIE,
        GEN_CLUSTER_DISCOVERY: `static:${this.names.join(',')}`,
        CHAOS_OPTIONS: JSON.stringify(this.options),
        CHAOS_REQUEST_TIMEOUT_MS: String(this.requestTimeoutMs),
      },
      root,
    );
    const managed = new ManagedProcess(child, { maxLines: 400 });
    this.process = managed;
    this.state = 'running';
    let ready = false;
    let buffered = '';
    const onLine = (line: string) => {
      if (managed !== this.process) return;
      const space = line.indexOf(' ');
      const kind = line.startsWith('CHAOS_') ? line.slice(6, space) : '';
      const body = kind ? (JSON.parse(line.slice(space + 1)) as unknown) : undefined;
      if (kind === 'READY') ready = true;
      else if (kind === 'EVENT') this.listener.event(this, body as ChaosEvent);
      else if (kind === 'VIEW') {
        this.lastView = body as ChaosView;
        this.listener.view(this, this.lastView);
      } else if (kind === 'MEM') this.listener.memory(this, body as ChaosMemory);
      else this.listener.line(this, line);
    };
    const split = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line) onLine(line);
      }
    };
    child.stdout?.on('data', split);
    // stderr has its own partial-line buffer: the two streams interleave at any byte
    let errBuffered = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      errBuffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = errBuffered.indexOf('\n')) >= 0) {
        const line = errBuffered.slice(0, newline);
        errBuffered = errBuffered.slice(newline + 1);
        if (line && managed === this.process) this.listener.line(this, `stderr: ${line}`);
      }
    });
    void managed.exited.then(code => {
      if (managed !== this.process) return;
      this.state = 'down';
      this.listener.exited(this, code, managed.exitSignal ?? null, this.expectExit);
    });
    try {
      await until(
        () => {
          if (managed.exitCode !== undefined) throw new Error(`${this.name} exited while starting`);
          return ready;
        },
        timeoutMs,
        `${this.name} to start`,
        50,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}:\n${managed.output.slice(-30).join('\n')}`);
    }
  }

  /** `kill -9`, and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.process || this.state === 'down') return;
    this.expectExit = true;
    await this.process.kill();
    this.state = 'down';
  }

  /** SIGTERM (a graceful stop: the node says goodbye), SIGKILL after `graceMs`. */
  async terminate(graceMs: number): Promise<void> {
    if (!this.process || this.state === 'down') return;
    this.expectExit = true;
    await this.process.stop(graceMs);
    this.state = 'down';
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  pause(): void {
    if (this.state !== 'running') return;
    this.process?.signal('SIGSTOP');
    this.state = 'stopped';
  }

  /** SIGCONT. */
  resume(): void {
    if (this.state !== 'stopped') return;
    this.process?.signal('SIGCONT');
    this.state = 'running';
    this.resumedAt = performance.now();
  }

  /** Asks for a `CHAOS_MEM` report (answered after a full GC; a stopped node answers on SIGCONT). */
  requestMemory(): void {
    if (this.state === 'down') return;
    this.process?.child.stdin?.write('mem\n');
  }

  /** Open file descriptors of the process, from /proc; `undefined` once it is gone. */
  fdCount(): number | undefined {
    const pid = this.pid;
    if (pid === undefined || this.state === 'down') return undefined;
    try {
      return readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      return undefined;
    }
  }

  /** The last `count` output lines of the current incarnation. */
  tail(count = 30): string[] {
    return this.process?.output.slice(-count) ?? [];
  }
}
