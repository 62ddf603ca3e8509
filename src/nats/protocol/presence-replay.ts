/**
 * Refuses presence announcements that are not news: replays of captured packets, and packets
 * overtaken by a restart.
 */
import { checkInteger } from '../../core/index.js';
import { IncarnationHistory } from './incarnation-history.js';
import type { PresenceAnnouncement } from './presence-codec.js';

/** The default bound of {@link PresenceReplayGuard}: nodes remembered at once. */
export const DEFAULT_PRESENCE_NODES = 10_000;

/**
 * Which authenticated announcements are news, per node name. Accepted: an announcement whose
 * incarnation is not one of the last 4 seen for that name (a new start), or whose counter is above
 * the last accepted of its incarnation. Refused besides: a `leaving` of an incarnation other than
 * the current one (the last accepted), so a replayed or late `leaving` of an earlier start never
 * drops the start that runs now.
 *
 * Bounded: at most `maxNodes` names, the least recently accepted forgotten first, so a flood of
 * distinct names (even authentic ones) never grows memory. A forgotten name's old packets (and
 * those of a start older than the 4 remembered, or any packet replayed to a node start that never
 * saw it) pass this guard once. So passing it is not proof that a start is alive: the dist makes a
 * start a member only once it answered this node's current start (a `reply` whose `to` is this
 * start's incarnation, MAC-covered), which no recording made before this start can contain.
 */
export class PresenceReplayGuard {
  private readonly nodes = new Map<string, IncarnationHistory>();
  private readonly maxNodes: number;

  /**
   * @param maxNodes names remembered at once (default {@link DEFAULT_PRESENCE_NODES})
   * @throws InvalidConfigError when `maxNodes` is not an integer from 1
   */
  constructor(maxNodes: number = DEFAULT_PRESENCE_NODES) {
    checkInteger('maxNodes', maxNodes, 1, Number.MAX_SAFE_INTEGER);
    this.maxNodes = maxNodes;
  }

  /** Names remembered now. */
  get size(): number {
    return this.nodes.size;
  }

  /** Whether `a` (already authenticated) is news; records it when it is. */
  accept(a: PresenceAnnouncement): boolean {
    const history = this.nodes.get(a.node);
    if (history === undefined) {
      this.nodes.set(a.node, new IncarnationHistory(a.incarnation, a.counter));
      if (this.nodes.size > this.maxNodes) this.nodes.delete(this.nodes.keys().next().value!);
      return true;
    }
    if (a.kind === 'leaving' && a.incarnation !== history.current) return false;
    if (!history.offer(a.incarnation, a.counter)) return false;
    // Delete and set again: the map stays least recently accepted first.
    this.nodes.delete(a.node);
    this.nodes.set(a.node, history);
    return true;
  }

  /**
   * Forgets everything about `node`. Its earlier announcements, replayed, would be accepted again
   * once: call it for a node gone for good, to free memory sooner than the bound does.
   */
  forget(node: string): void {
    this.nodes.delete(node);
  }
}
