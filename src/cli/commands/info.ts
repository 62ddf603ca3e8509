import { answerFailure } from '../cli.errors.js';
import { formatInfo } from '../format.js';
import type { CommandContext, CommandOutput } from './command.js';

/** `info <node>`: what the node says of itself (exit 5 from a node without system topics). */
export async function infoCommand(context: CommandContext, node: string): Promise<CommandOutput> {
  const { client, timeoutMs } = context;
  context.requireMember(node);
  const info = await client.info(node, { timeoutMs }).catch((error: unknown) => {
    throw answerFailure(node, error, timeoutMs);
  });
  return { text: formatInfo(info), json: info };
}
