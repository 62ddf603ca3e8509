import { readEnvConfig } from '../config/index.js';
import { type CliArgs, parseCliArgs } from './args.js';
import { type ExitCode, describeFailure, usageError } from './cli.errors.js';
import { CliMessages } from './cli.messages.js';
import type { CommandOutput } from './commands/command.js';
import { infoCommand } from './commands/info.js';
import { membersCommand } from './commands/members.js';
import { namesCommand } from './commands/names.js';
import { pingCommand } from './commands/ping.js';
import { watchCommand } from './commands/watch.js';
import { type JoinedCluster, joinCluster } from './join.js';

/** Where the command writes and what it reads of its process. */
export interface CliIo {
  /** Writes one line (or block) to stdout. */
  readonly stdout: (text: string) => void;
  /** Writes one line to stderr. */
  readonly stderr: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly pid: number;
  /** Calls `stop` on SIGINT/SIGTERM (for `watch`); returns a function that stops listening. */
  readonly onSignal: (stop: () => void) => () => void;
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    const args = parseCliArgs(argv);
    if (args.command === undefined) {
      io.stdout(CliMessages.usage());
      return 0;
    }
    const output = await runCommand(args, io);
    if (output) io.stdout(args.json ? JSON.stringify(output.json, null, 2) : output.text);
    return 0;
  } catch (error) {
    const failure = describeFailure(error);
    io.stderr(failure.line);
    return failure.exitCode;
  }
}

async function runCommand(args: CliArgs, io: CliIo): Promise<CommandOutput | undefined> {
  const command = args.command!;
  if (command.name === 'names') {
    let mapperPort;
    try {
      mapperPort = readEnvConfig(io.env).portMapperPort;
    } catch (error) {
      throw usageError(CliMessages.badEnvironment((error as Error).message));
    }
    return namesCommand(command.host, mapperPort, args.timeoutMs);
  }
  const joined = await joinCluster({
    seeds: args.seeds,
    timeoutMs: args.timeoutMs,
    env: io.env,
    pid: io.pid,
  });
  try {
    return await onJoined(joined, args, io);
  } finally {
    await joined.leave();
  }
}

async function onJoined(
  joined: JoinedCluster,
  args: CliArgs,
  io: CliIo,
): Promise<CommandOutput | undefined> {
  const command = args.command!;
  switch (command.name) {
    case 'members':
      return membersCommand(joined, command.node);
    case 'ping':
      return pingCommand(joined, command.node, command.count);
    case 'info':
      return infoCommand(joined, command.node);
    case 'watch': {
      const stopping = new AbortController();
      const stopListening = io.onSignal(() => stopping.abort());
      try {
        await watchCommand(joined, { json: args.json, write: io.stdout, signal: stopping.signal });
      } finally {
        stopListening();
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
