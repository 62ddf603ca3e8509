/**
 * Bounded, per-key rate limiting for log lines, so a hostile or misconfigured peer cannot flood
 * the log: at most one line per key and window, with a count of what was held back. The key table
 * is bounded: keys whose window has passed are forgotten first, and while it is full of live keys
 * a new key is held back too, so a flood of distinct keys (a peer cycling source addresses) logs
 * at most `maxKeys` lines per window, in bounded memory.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  /**
   * @param windowMs least time between two lines of one key
   * @param maxKeys most keys remembered at once
   */
  constructor(
    private readonly windowMs = 60_000,
    private readonly maxKeys = 1_000,
  ) {}

  /**
   * Whether a line for `key` may be written now: the number of lines suppressed for that key
   * since its last line (0 or more), or `-1` when this one must be suppressed too.
   */
  allow(key: string): number {
    const now = performance.now();
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.windowMs) {
      entry.suppressed++;
      return -1;
    }
    if (entry === undefined && this.last.size >= this.maxKeys) {
      this.forgetExpired(now);
      if (this.last.size >= this.maxKeys) return -1;
    }
    const suppressed = entry?.suppressed ?? 0;
    // delete first, so the map stays ordered by the time of each key's last line
    this.last.delete(key);
    this.last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }

  /**
   * Forgets `key`, so that its next line is written at once: for a condition that ended (a
   * failure that recovered), whose next occurrence is news again.
   * @returns how many lines of `key` were held back since its last line (0 when none or unknown)
   */
  forget(key: string): number {
    const suppressed = this.last.get(key)?.suppressed ?? 0;
    this.last.delete(key);
    return suppressed;
  }

  /** Drops the keys whose window has passed; they are the oldest, at the front of the map. */
  private forgetExpired(now: number): void {
    for (const [key, entry] of this.last) {
      if (now - entry.at < this.windowMs) return;
      this.last.delete(key);
    }
  }

  /**
   * Calls `write(message)` when `key` may log now, appending how many lines were held back.
   * @returns whether the line was written
   */
  write(key: string, message: string, write: (message: string) => void): boolean {
    const suppressed = this.allow(key);
    if (suppressed < 0) return false;
    write(suppressed > 0 ? `${message} (${suppressed} similar suppressed)` : message);
    return true;
  }
}
