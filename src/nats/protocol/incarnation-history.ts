/**
 * What the presence guard and the frame reader remember of one sender to refuse replays: the last
 * counter of each of its last few starts.
 */

/** How many starts (incarnations) of one sender are remembered, as gossip does. */
export const REMEMBERED_INCARNATIONS = 4;

/**
 * The last counter accepted for each of the last {@link REMEMBERED_INCARNATIONS} incarnations of
 * one sender, and which incarnation is current (the last accepted).
 *
 * A counter is news when it is above the last one of its incarnation, or when its incarnation is
 * not remembered (a restart). So a captured packet of any remembered start is refused; one of a
 * start older than those (or of a sender forgotten) is accepted once. Accepting is therefore no
 * proof of life: the dist admits a start only on an answer bound to its own current start (see
 * `PresenceReplayGuard`), and frames carry their destination start under their MAC.
 */
export class IncarnationHistory {
  /** Incarnation → last counter, oldest first (insertion order is first-seen order). */
  private readonly last = new Map<string, number>();
  private currentIncarnation: string;

  constructor(incarnation: string, counter: number) {
    this.last.set(incarnation, counter);
    this.currentIncarnation = incarnation;
  }

  /** The incarnation of the last accepted counter. */
  get current(): string {
    return this.currentIncarnation;
  }

  /** Whether `incarnation` is one of the remembered ones. */
  has(incarnation: string): boolean {
    return this.last.has(incarnation);
  }

  /** Takes `counter` when it is news (see the class), making `incarnation` current. */
  offer(incarnation: string, counter: number): boolean {
    // The hot path (frames of the current start): one lookup, one update in place.
    const last = this.last.get(incarnation);
    if (last !== undefined) {
      if (counter <= last) return false;
      this.last.set(incarnation, counter);
      this.currentIncarnation = incarnation;
      return true;
    }
    const previous = this.currentIncarnation;
    this.last.set(incarnation, counter);
    this.currentIncarnation = incarnation;
    // Oldest first out, but never the one just accepted nor the one that was current: replays of
    // several old starts must not push the running start's counter out (it could then be
    // replayed from its beginning).
    for (const known of this.last.keys()) {
      if (this.last.size <= REMEMBERED_INCARNATIONS) break;
      if (known !== incarnation && known !== previous) this.last.delete(known);
    }
    return true;
  }
}
