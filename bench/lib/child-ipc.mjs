// The IPC side of a benchmark child process (bench/child.mjs, bench/scale-child.mjs): it obeys
// its parent ({ id, cmd, args } -> { id, ok, result | error }, plus { ev } events), exits when
// the parent goes away, and after an hour whatever happens.
import { now } from './common.mjs';

/** Names the process `bench-<label>` and ties its life to the parent's; returns `send`. */
export function childProcess(label) {
  process.title = `bench-${label}`;
  const send = message => {
    try {
      process.send?.(message);
    } catch {
      // the parent is gone
    }
  };
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(3), 60 * 60 * 1000).unref();
  return send;
}

/** A `usage` command: CPU, memory and time, after two GCs when `gc` (default `gcByDefault`). */
export const usageCommand =
  gcByDefault =>
  ({ gc = gcByDefault } = {}) => {
    if (gc) {
      global.gc?.();
      global.gc?.();
    }
    return { cpu: process.cpuUsage(), mem: process.memoryUsage(), t: now() };
  };

/** Answers the parent's commands with `commands[cmd](args)`, then reports the process ready. */
export function serveCommands(commands, send) {
  process.on('message', async message => {
    if (!message || typeof message.cmd !== 'string') return;
    if (message.cmd === 'exit') process.exit(0);
    const { id, cmd, args } = message;
    try {
      const handler = commands[cmd];
      if (!handler) throw new Error(`unknown command ${cmd}`);
      send({ id, ok: true, result: await handler(args ?? {}) });
    } catch (error) {
      send({ id, ok: false, error: error?.stack ?? String(error) });
    }
  });
  send({ ev: 'ready', t: now(), pid: process.pid });
}
