// Child processes of the benchmark: each runs bench/child.mjs with the loopback guard preloaded
// and talks to the orchestrator over IPC ({ id, cmd, args } -> { id, ok, result | error }, plus
// unsolicited { ev, ... } events). Every child is tracked and killed by pid with SIGKILL when it
// is no longer needed, when the orchestrator exits, and on SIGINT/SIGTERM: nothing is left behind.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const childMain = join(here, '..', 'child.mjs');
const guard = pathToFileURL(join(here, 'guard.mjs')).href;

const live = new Set();

export function killAll() {
  for (const child of live) child.killNow();
}

process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAll();
    process.stderr.write(`\nbench: ${signal}, children killed\n`);
    process.exit(130);
  });
}

/** Extra node flags for children (e.g. --cpu-prof), set by the orchestrator. */
export const childFlags = { common: [], byLabel: () => [] };

export class Child {
  /** `main`: the script the child runs (bench/child.mjs unless given, e.g. bench/scale-child.mjs). */
  constructor(label, { flags = [], main = childMain } = {}) {
    this.label = label;
    this.events = [];
    this.listeners = new Set();
    this.calls = new Map();
    this.nextId = 1;
    this.exited = false;
    this.proc = fork(main, [label], {
      execArgv: [
        '--import',
        guard,
        '--expose-gc',
        ...childFlags.common,
        ...childFlags.byLabel(label),
        ...flags,
      ],
      env: { ...process.env, BENCH_CHILD: label },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.pid = this.proc.pid;
    this.stderr = [];
    this.proc.stderr.on('data', chunk => {
      const text = chunk.toString('utf8');
      this.stderr.push(text);
      if (this.stderr.length > 200) this.stderr.shift();
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${label}] ${text}`);
    });
    live.add(this);
    this.exit = new Promise(resolve =>
      this.proc.once('exit', (code, signal) => {
        this.exited = true;
        live.delete(this);
        for (const { reject } of this.calls.values())
          reject(
            new Error(`${label} exited (${signal ?? code}) ${this.stderr.join('').slice(-800)}`),
          );
        this.calls.clear();
        resolve({ code, signal });
      }),
    );
    this.proc.on('message', message => {
      if (message && message.id !== undefined && this.calls.has(message.id)) {
        const call = this.calls.get(message.id);
        this.calls.delete(message.id);
        clearTimeout(call.timer);
        if (message.ok) call.resolve(message.result);
        else call.reject(new Error(`${label}: ${message.error}`));
        return;
      }
      if (message && message.ev) {
        this.events.push(message);
        if (this.events.length > 10_000) this.events.splice(0, 5_000);
        for (const listener of this.listeners) listener(message);
      }
    });
    this.proc.on('error', () => undefined);
  }

  /** Sends a command and resolves with its result; rejects after `timeoutMs`. */
  call(cmd, args = {}, timeoutMs = 30_000) {
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(id);
        reject(new Error(`${this.label}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(id, { resolve, reject, timer });
      this.proc.send({ id, cmd, args });
    });
  }

  /** Resolves with the first event (past or future) matching `predicate`, or null after `timeoutMs`. */
  waitEvent(predicate, timeoutMs) {
    const found = this.events.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise(resolve => {
      const listener = event => {
        if (!predicate(event)) return;
        done(event);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = value => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(value);
      };
      this.listeners.add(listener);
    });
  }

  signal(signal) {
    if (!this.exited) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  killNow() {
    this.signal('SIGKILL');
  }

  /** Asks the child to stop (for --cpu-prof to write its profile), then SIGKILL after `graceMs`. */
  async stop(graceMs = 2_000) {
    if (this.exited) return;
    this.signal('SIGCONT');
    try {
      this.proc.send({ id: 0, cmd: 'exit', args: {} });
    } catch {
      // IPC closed
    }
    const timer = setTimeout(() => this.killNow(), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}

/** Starts a child and waits until it is ready for commands. */
export async function startChild(label, options) {
  const child = new Child(label, options);
  const ready = await child.waitEvent(e => e.ev === 'ready', 30_000);
  if (!ready) {
    child.killNow();
    throw new Error(`${label} did not start: ${child.stderr.join('')}`);
  }
  return child;
}

/**
 * Starts one child per `{ label, stack }` of `specs`, all at once, and has each import its stack
 * (bench/child.mjs `load`); resolves with them in the order of `specs`. If one fails, the others
 * are stopped and the first error is thrown.
 */
export async function startLoaded(specs, timeoutMs = 60_000) {
  const settled = await Promise.allSettled(
    specs.map(async ({ label, stack }) => {
      const child = await startChild(label, { flags: [] });
      try {
        await child.call('load', { stack }, timeoutMs);
      } catch (error) {
        child.killNow();
        throw error;
      }
      return child;
    }),
  );
  const failed = settled.find(s => s.status === 'rejected');
  if (failed) {
    await stopAll(
      settled.filter(s => s.status === 'fulfilled').map(s => s.value),
      1_000,
    );
    throw failed.reason;
  }
  return settled.map(s => s.value);
}

/** Stops every child in `children` (in parallel), whatever happens. */
export async function stopAll(children, graceMs) {
  await Promise.allSettled(children.filter(Boolean).map(c => c.stop(graceMs)));
}
