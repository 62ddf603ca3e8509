import { answerFailure } from '../cli.errors.js';
import { formatPing, pingResult } from '../format.js';
import type { CommandContext, CommandOutput } from './command.js';

/** `ping <node>`: `count` round trips, one after the other. */
export async function pingCommand(
  context: CommandContext,
  node: string,
  count: number,
): Promise<CommandOutput> {
  const { client, timeoutMs } = context;
  context.requireMember(node);
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    rtts.push(
      await client.ping(node, { timeoutMs }).catch((error: unknown) => {
        throw answerFailure(node, error, timeoutMs);
      }),
    );
  }
  const result = pingResult(node, rtts);
  return { text: formatPing(result), json: result };
}
