import { DEFAULT_PORT_MAPPER_PORT, PortMapperClient } from '../../portmapper/index.js';
import { CliError } from '../cli.errors.js';
import { CliMessages } from '../cli.messages.js';
import { formatNames } from '../format.js';
import type { CommandOutput } from './command.js';

/** `names [host]`: the port mapper's registrations on `host`; joins nothing. */
export async function namesCommand(
  host: string,
  mapperPort: number | undefined,
  timeoutMs: number,
): Promise<CommandOutput> {
  const port = mapperPort ?? DEFAULT_PORT_MAPPER_PORT;
  const client = new PortMapperClient({
    port,
    connectTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
  });
  try {
    const nodes = (await client.nodes(host)).sort((a, b) => (a.name < b.name ? -1 : 1));
    return { text: formatNames(host, nodes), json: { host, port, nodes } };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CliError(CliMessages.cannotReachMapper(host, port, (error as Error).message), {
      code: typeof code === 'string' ? code : 'ERR_CANNOT_JOIN',
      exitCode: 2,
      cause: error,
    });
  }
}
