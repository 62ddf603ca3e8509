import type { SystemClient } from '../../primitives/index.js';

/** What a command reads of the joined cluster (a scripted one in specs). */
export interface CommandContext {
  readonly client: SystemClient;
  /** Connected nodes, sorted. */
  members(): string[];
  /** @throws CliError (exit 3) when `node` is not connected. */
  requireMember(node: string): void;
  readonly timeoutMs: number;
}

/** What a command prints: `text` for people, `json` with `--json`. */
export interface CommandOutput {
  readonly text: string;
  readonly json: unknown;
}
