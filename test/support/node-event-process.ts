import type { ChildProcess } from 'node:child_process';
import { ManagedProcess } from './managed-process.js';

/** What {@link NodeEventProcess} reads of a line: a cluster event and the node it is about. */
export interface NodeEventLine {
  readonly event?: string;
  readonly node?: string;
}

/**
 * A cluster node in its own fixture process that prints one JSON object per line on stdout
 * (events, logs, answers), every one kept in {@link lines}; other lines (a stack trace) are
 * kept in `output` only.
 */
export class NodeEventProcess<Line extends NodeEventLine> extends ManagedProcess {
  readonly lines: Line[] = [];

  constructor(
    readonly node: string,
    child: ChildProcess,
  ) {
    super(child, { tag: `[${node}] ` });
    let rest = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      let newline = rest.indexOf('\n');
      while (newline >= 0) {
        const line = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(line) as Line);
        } catch {
          // not one of ours (a stack trace): kept in output
        }
        newline = rest.indexOf('\n');
      }
    });
  }

  /** The connected members, from the nodeUp/nodeDown events seen so far (sorted). */
  members(): string[] {
    const up = new Set<string>();
    for (const l of this.lines) {
      if (l.event === 'nodeUp') up.add(l.node!);
      if (l.event === 'nodeDown') up.delete(l.node!);
    }
    return [...up].sort();
  }

  /** The event lines of `type` (from `mark`, an index into {@link lines}, on). */
  events(type: string, mark = 0): Line[] {
    return this.lines.slice(mark).filter(l => l.event === type);
  }
}
