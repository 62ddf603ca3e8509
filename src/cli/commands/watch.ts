import type { Peer } from '../../core/index.js';
import type { RecordedEvent } from '../../primitives/index.js';
import { CliMessages } from '../cli.messages.js';
import { formatWatchedEvent } from '../format.js';
import type { CommandContext } from './command.js';

/** How often `watch` asks each node for its new events. */
export const WATCH_INTERVAL_MS = 1_000;

/** Every this many polls, `watch` asks the nodes for peers it does not know yet. */
const EXPAND_EVERY = 5;

/** What `watch` needs beyond a command's context. */
export interface WatchContext extends CommandContext {
  /** Connects to nodes the known ones tell of. */
  expand(budgetMs?: number): Promise<void>;
  /** Adds peers a node told of. */
  learn(peers: readonly Peer[]): number;
}

/** How `watch` prints and when it stops. */
export interface WatchOptions {
  readonly json: boolean;
  readonly write: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  readonly intervalMs?: number;
}

/**
 * `watch`: polls `$gc.sys.events` of every member each second and prints the events it has not
 * printed, as `<time> <node that saw it> <event>` (with `--json`, one document per line). Nodes
 * that join later are polled from their first event. Resolves when `signal` aborts.
 */
export async function watchCommand(context: WatchContext, options: WatchOptions): Promise<void> {
  const { client, timeoutMs } = context;
  const { json, write, signal } = options;
  const seen = new Map<string, number>();
  const polling = new Set<string>();
  const overview = await client.overview({ timeoutMs });
  for (const entry of overview.nodes) {
    if (!entry.ok) continue;
    seen.set(entry.node, entry.info.seq);
    context.learn(entry.info.peers);
  }
  // A person sees it started (and whom it watches); `--json` output stays events only.
  if (!json) write(CliMessages.watching(overview.nodes.filter(n => n.ok).map(n => n.node)));
  const print = (node: string, events: readonly RecordedEvent[]) => {
    for (const event of events)
      write(json ? JSON.stringify({ reporter: node, ...event }) : formatWatchedEvent(node, event));
  };
  const poll = async (node: string) => {
    polling.add(node);
    try {
      const page = await client.events(node, seen.get(node) ?? 0, { timeoutMs });
      if (signal.aborted) return;
      print(node, page.events);
      seen.set(node, page.seq);
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
