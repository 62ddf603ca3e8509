import { answerFailure } from '../cli.errors.js';
import { type MembersRow, formatMembers, stringsOf } from '../format.js';
import type { CommandContext, CommandOutput } from './command.js';

/** `members`: every node's members (`overview`), or one node's with `--node`. */
export async function membersCommand(
  context: CommandContext,
  node: string | undefined,
): Promise<CommandOutput> {
  const { client, timeoutMs } = context;
  let rows: MembersRow[];
  if (node !== undefined) {
    context.requireMember(node);
    const info = await client.info(node, { timeoutMs }).catch((error: unknown) => {
      throw answerFailure(node, error, timeoutMs);
    });
    rows = [{ node, members: stringsOf(membersOf(info)) }];
  } else {
    const overview = await client.overview({ timeoutMs });
    rows = overview.nodes
      .filter(entry => entry.node !== overview.self)
      .map(entry =>
        entry.ok
          ? { node: entry.node, members: stringsOf(membersOf(entry.info)) }
          : { node: entry.node, older: entry.older, error: entry.error },
      );
  }
  return { text: formatMembers(rows), json: { nodes: rows } };
}

/** The `members` of a node's info answer, whatever shape that answer has. */
function membersOf(info: unknown): unknown {
  return (info as { members?: unknown } | null | undefined)?.members;
}
