import type { ChildProcess } from 'node:child_process';

/** One line of the sample singleton's log: it started or stopped on `node`. */
export interface SingletonLogEvent {
  readonly kind: 'started' | 'stopped';
  /** The node the line names (the process's own name). */
  readonly node: string;
  /** The term a start names; `undefined` on a stop. */
  readonly term?: number;
  /** `performance.now()` of the test process when the line arrived. */
  readonly at: number;
}

/** The sample singleton's log lines: `singleton <name> started on <self> (term <n>)` and `... stopped on <self>`. */
const LINE = /singleton (\S+) (started|stopped) on (\S+?)(?: \(term (\d+)\))?\s*$/;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * The start and stop lines one process prints for the singleton `name`, each with the time it
 * arrived, read from the child's stdout and stderr as they come (each stream with its own
 * partial-line buffer). Times are the test's clock, so events of several processes compare.
 */
export class SingletonLog {
  readonly events: SingletonLogEvent[] = [];

  constructor(
    child: ChildProcess,
    private readonly name: string,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          this.line(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      });
    }
  }

  /** Events of `kind` that arrived at or after `since` (`performance.now()`). */
  since(since: number, kind?: SingletonLogEvent['kind']): SingletonLogEvent[] {
    return this.events.filter(e => e.at >= since && (kind === undefined || e.kind === kind));
  }

  /** Whether the last event says it runs here (started and not stopped since). */
  get running(): boolean {
    return this.events.at(-1)?.kind === 'started';
  }

  private line(raw: string): void {
    const match = LINE.exec(raw.replace(ANSI, ''));
    if (!match || match[1] !== this.name) return;
    this.events.push({
      kind: match[2] as SingletonLogEvent['kind'],
      node: match[3]!,
      term: match[4] === undefined ? undefined : Number(match[4]),
      at: performance.now(),
    });
  }
}
