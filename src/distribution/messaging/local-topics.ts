/**
 * The topics this node serves, as the service registry announces them: which topics have a
 * request handler and how many subscribers, with a notification on each edge only (a handler
 * appears or goes, a subscriber count goes 0 <-> 1), so a second subscriber of a topic costs the
 * registry nothing. Internal (`$gc.`) registrations never reach it: the messaging layer leaves
 * them out.
 */
import type {
  LocalTopicsView,
  ServedKind,
  ServedTopic,
  ServedTopicChange,
} from '../../core/index.js';

/** What a topic has locally. */
interface TopicState {
  handler: boolean;
  subscribers: number;
}

/** Called with a listener's failure; must not throw. */
export type LocalTopicsFailure = (change: ServedTopicChange, error: unknown) => void;

/**
 * A node's own registrations by topic, with edge notifications for the service registry.
 * @internal
 */
export class LocalTopics implements LocalTopicsView {
  private readonly topics = new Map<string, TopicState>();
  private readonly listeners = new Set<(change: ServedTopicChange) => void>();

  /** @param failed told of a listener that threw; the other listeners still run */
  constructor(private readonly failed: LocalTopicsFailure) {}

  /** Records one more receiver of `kind` on `topic`; notifies when it is the first. */
  add(topic: string, kind: ServedKind): void {
    let state = this.topics.get(topic);
    if (state === undefined) this.topics.set(topic, (state = { handler: false, subscribers: 0 }));
    if (kind === 'handler') {
      if (state.handler) return;
      state.handler = true;
    } else if (state.subscribers++ > 0) return;
    this.notify({ topic, kind, added: true });
  }

  /** Records one receiver of `kind` fewer on `topic`; notifies when it was the last. */
  remove(topic: string, kind: ServedKind): void {
    const state = this.topics.get(topic);
    if (state === undefined) return;
    if (kind === 'handler') {
      if (!state.handler) return;
      state.handler = false;
    } else {
      if (state.subscribers === 0) return;
      if (--state.subscribers > 0) return;
    }
    if (!state.handler && state.subscribers === 0) this.topics.delete(topic);
    this.notify({ topic, kind, added: false });
  }

  /** Every topic served now, sorted by topic, the handler before the subscribers. */
  served(): ServedTopic[] {
    const served: ServedTopic[] = [];
    for (const [topic, state] of this.topics) {
      if (state.handler) served.push({ topic, kind: 'handler' });
      if (state.subscribers > 0) served.push({ topic, kind: 'subscriber' });
    }
    return served.sort(compareServed);
  }

  /** Calls `listener` on every edge from now on; returns a function that stops it. */
  watch(listener: (change: ServedTopicChange) => void): () => void {
    // A wrapper per call: the same function watching twice is stopped one watch at a time.
    const watcher = (change: ServedTopicChange): void => listener(change);
    this.listeners.add(watcher);
    return () => void this.listeners.delete(watcher);
  }

  /** Forgets every topic without notifying: messaging is closing, the registry closed first. */
  clear(): void {
    this.topics.clear();
  }

  private notify(change: ServedTopicChange): void {
    // A snapshot: a listener may watch or stop watching while it runs.
    for (const listener of [...this.listeners]) {
      if (!this.listeners.has(listener)) continue;
      try {
        listener(change);
      } catch (error) {
        this.failed(change, error);
      }
    }
  }
}

/** Orders served topics by topic, then `'handler'` before `'subscriber'`. */
export function compareServed(a: ServedTopic, b: ServedTopic): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.kind === b.kind ? 0 : a.kind === 'handler' ? -1 : 1;
}
