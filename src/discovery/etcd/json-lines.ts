/**
 * Splits a chunked stream of newline-delimited JSON (the gateway's watch and keepalive answers)
 * into parsed values. A line may arrive split across any number of chunks, and one chunk may hold
 * several lines; only complete lines are parsed. Bounded: a partial line longer than `maxLine`
 * bytes (UTF-16 units) is refused.
 */
export class JsonLines {
  private buffer = '';

  /** @param maxLine the longest line accepted, in characters */
  constructor(private readonly maxLine: number) {}

  /**
   * Adds a chunk and returns the values of the lines it completed, in order.
   * @throws SyntaxError when a complete line is not JSON; RangeError when a line grows past
   *   `maxLine` (the caller turns both into its own error).
   */
  push(chunk: string): unknown[] {
    this.buffer += chunk;
    const values: unknown[] = [];
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line !== '') values.push(JSON.parse(line));
      newline = this.buffer.indexOf('\n');
    }
    if (this.buffer.length > this.maxLine) {
      this.buffer = '';
      throw new RangeError(String(this.maxLine));
    }
    return values;
  }

  /** Whether a partial line is waiting for the rest. */
  get pending(): boolean {
    return this.buffer.trim() !== '';
  }
}
