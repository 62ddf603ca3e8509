/** Runs at most `concurrency` tasks at once; the rest wait in arrival order. */
export class Limiter {
  private running = 0;
  /**
   * Waiting tasks in arrival order, from `head` on. Taken by index, not `shift()`: a refresh can
   * queue thousands of connects, and shifting an array that large copies it every time.
   */
  private waiting: ((() => void) | undefined)[] = [];
  private head = 0;

  constructor(private readonly concurrency: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      await new Promise<void>(resolve => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.next();
      if (next) next();
      else this.running--;
    }
  }

  /** The next waiting task, or `undefined`; the taken prefix is dropped once it is most of it. */
  private next(): (() => void) | undefined {
    if (this.head === this.waiting.length) return undefined;
    const next = this.waiting[this.head];
    this.waiting[this.head++] = undefined; // not kept alive by the taken prefix
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= 1_024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    return next;
  }
}
