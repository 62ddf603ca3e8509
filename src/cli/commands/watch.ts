import type { RecordedEvent, SystemEventsPage } from '../../primitives/index.js';
import { CliMessages } from '../cli.messages.js';
import { clean, formatWatchedEvent } from '../format.js';
import type { CommandContext } from './command.js';

/** How often `watch` asks each node for its new events. */
export const WATCH_INTERVAL_MS = 1_000;

/** Every this many polls, `watch` asks the nodes for peers it does not know yet. */
const EXPAND_EVERY = 5;

/** What `watch` needs beyond a command's context. */
export interface WatchContext extends CommandContext {
  /** Connects to nodes the known ones tell of. */
  expand(budgetMs?: number): Promise<void>;
  /** Adds peers a node told of; anything but a list of valid peers adds none. */
  learn(peers: unknown): number;
}

/** How `watch` prints and when it stops. */
export interface WatchOptions {
  readonly json: boolean;
  readonly write: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  readonly intervalMs?: number;
}

/** What a node's answer says of its run: its last `seq` and its `boot` id, when well formed. */
function runOf(answer: unknown): { seq: number | undefined; boot: string | undefined } {
  const { seq, boot } = (answer ?? {}) as { seq?: unknown; boot?: unknown };
  return {
    seq: Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : undefined,
    boot: typeof boot === 'string' ? boot : undefined,
  };
}

/**
 * `watch`: polls `$gc.sys.events` of every member each second and prints the events it has not
 * printed, as `<time> <node that saw it> <event>` (with `--json`, one document per line). Nodes
 * that join later are polled from their first event, and so is a node whose `boot` id changed (it
 * restarted: its new run numbers events from 1). A malformed answer is skipped, never the end of
 * the command. Resolves when `signal` aborts.
 */
export async function watchCommand(context: WatchContext, options: WatchOptions): Promise<void> {
  const { client, timeoutMs } = context;
  const { json, write, signal } = options;
  const seen = new Map<string, number>();
  // The run each saved `seq` belongs to (undefined: a node without boot ids).
  const boots = new Map<string, string | undefined>();
  const polling = new Set<string>();
  const overview = await client.overview({ timeoutMs });
  for (const entry of overview.nodes) {
    if (!entry.ok) continue;
    const run = runOf(entry.info);
    seen.set(entry.node, run.seq ?? 0);
    boots.set(entry.node, run.boot);
    try {
      context.learn((entry.info as { peers?: unknown } | null)?.peers);
    } catch {
      // A node's peer list is its word: one that cannot be read adds nobody.
    }
  }
  // A person sees it started (and whom it watches); `--json` output stays events only.
  if (!json) write(CliMessages.watching(overview.nodes.filter(n => n.ok).map(n => clean(n.node))));
  const print = (node: string, events: unknown) => {
    if (!Array.isArray(events)) return;
    for (const event of events as RecordedEvent[])
      write(json ? JSON.stringify({ reporter: node, ...event }) : formatWatchedEvent(node, event));
  };
  const poll = async (node: string) => {
    polling.add(node);
    try {
      let page: SystemEventsPage = await client.events(node, seen.get(node) ?? 0, { timeoutMs });
      let run = runOf(page);
      if (boots.has(node) && boots.get(node) !== run.boot) {
        // Restarted: the saved seq counted the old run's events; the new run's start from 1.
        page = await client.events(node, 0, { timeoutMs });
        run = runOf(page);
      }
      if (signal.aborted) return;
      print(node, (page as { events?: unknown } | null)?.events);
      if (run.seq !== undefined) seen.set(node, run.seq);
      boots.set(node, run.boot);
    } catch {
      // A node that went down is reported by the others; an older node has no events to give.
    } finally {
      polling.delete(node);
    }
  };
  let ticks = 0;
  let expanding = false;
  const tick = () => {
    for (const node of context.members()) if (!polling.has(node)) void poll(node);
    if (++ticks % EXPAND_EVERY === 0 && !expanding) {
      expanding = true;
      void context
        .expand(timeoutMs)
        .catch(() => undefined)
        .finally(() => (expanding = false));
    }
  };
  await new Promise<void>(resolve => {
    const timer = setInterval(tick, options.intervalMs ?? WATCH_INTERVAL_MS);
    const stop = () => {
      clearInterval(timer);
      resolve();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}
