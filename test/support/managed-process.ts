import type { ChildProcess } from 'node:child_process';

/** Options of {@link ManagedProcess}. */
export interface ManagedProcessOptions {
  /** Where the output lines go; a fresh array by default. Several processes may share one. */
  readonly output?: string[];
  /** Put before each line (to tell processes apart in a shared `output`). */
  readonly tag?: string;
  /** Older lines are dropped beyond this many, so a chatty process cannot grow without bound. */
  readonly maxLines?: number;
}

const live = new Set<ManagedProcess>();

/**
 * A child process a test started: its output kept line by line, its exit awaited, and stopped by
 * its own pid (never by name). Whatever a test leaves running is SIGKILLed when the test process
 * exits.
 */
export class ManagedProcess {
  /** stdout and stderr, line by line, in arrival order. */
  readonly output: string[];
  /** Settles with the exit code (`null` after a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** `undefined` while the process runs. */
  exitCode: number | null | undefined;
  /** The signal that ended the process; `undefined` while it runs. */
  exitSignal: NodeJS.Signals | null | undefined;

  constructor(
    readonly child: ChildProcess,
    options: ManagedProcessOptions = {},
  ) {
    const { tag = '', maxLines = 2_000 } = options;
    const output = (this.output = options.output ?? []);
    live.add(this);
    this.exited = new Promise(resolve =>
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this);
        resolve(code);
      }),
    );
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) output.push(`${tag}${line}`);
      if (output.length > maxLines) output.splice(0, output.length - maxLines);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends `signal` while the process runs; a process that is already gone is left alone. */
  signal(signal: NodeJS.Signals): void {
    if (this.exitCode !== undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // exited, and the exit event is still on its way
    }
  }

  /**
   * Stops the process (SIGCONT in case a test paused it, SIGTERM, then SIGKILL after `graceMs`)
   * and waits for it to exit.
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills with SIGKILL and waits for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }
}

process.once('exit', () => {
  for (const started of live) started.signal('SIGKILL');
});
