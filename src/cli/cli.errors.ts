import { type ErrorDetails, GenClusterError } from '../core/index.js';
import { CliMessages } from './cli.messages.js';

/** The command's exit codes. */
export const EXIT_CODES = Object.freeze({
  ok: 0,
  usage: 1,
  cannotJoin: 2,
  noSuchNode: 3,
  timeout: 4,
  olderNode: 5,
});

/** An exit code of the command. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The codes the command raises itself (a refusal keeps the handshake's code, ERR_BAD_COOKIE…). */
export type CliErrorCode =
  'ERR_USAGE' | 'ERR_CANNOT_JOIN' | 'ERR_NO_SUCH_NODE' | 'ERR_REQUEST_TIMEOUT' | 'ERR_OLDER_NODE';

/** Details of a {@link CliError}. */
export interface CliErrorDetails extends ErrorDetails {
  /** The code printed in the one-line reason: the command's own, or the cause's (ERR_BAD_COOKIE). */
  readonly code: CliErrorCode | (string & {});
  readonly exitCode: ExitCode;
}

/** A failure of the command, with the exit code it ends with. */
export class CliError extends GenClusterError {
  readonly exitCode: ExitCode;

  constructor(message: string, details: CliErrorDetails) {
    super(details.code, message, details);
    this.exitCode = details.exitCode;
  }
}

/** A usage error (exit 1). */
export const usageError = (message: string): CliError =>
  new CliError(message, { code: 'ERR_USAGE', exitCode: 1 });

/** The exit code and the one line on stderr for any failure; never a stack. */
export function describeFailure(error: unknown): { exitCode: ExitCode; line: string } {
  if (error instanceof CliError)
    return { exitCode: error.exitCode, line: CliMessages.failure(error.message, error.code) };
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const known = typeof code === 'string' ? code : 'ERR_UNEXPECTED';
  return {
    exitCode: known === 'ERR_INVALID_CONFIG' ? 1 : 2,
    line: CliMessages.failure(CliMessages.unexpected(message), known),
  };
}

/**
 * A failed question to `node` as the command's failure: a timeout exits 4, a node gone exits 3,
 * an older node (ERR_NO_HANDLER) exits 5; anything else is returned unchanged.
 */
export function answerFailure(node: string, error: unknown, timeoutMs: number): unknown {
  switch ((error as { code?: unknown } | undefined)?.code) {
    case 'ERR_REQUEST_TIMEOUT':
      return new CliError(CliMessages.commandTimeout(node, timeoutMs), {
        code: 'ERR_REQUEST_TIMEOUT',
        exitCode: 4,
        cause: error,
      });
    case 'ERR_NODE_DOWN':
      return new CliError(CliMessages.nodeWentDown(node), {
        code: 'ERR_NODE_DOWN',
        exitCode: 3,
        cause: error,
      });
    case 'ERR_NO_HANDLER':
      return new CliError(CliMessages.olderNode(node), {
        code: 'ERR_NO_HANDLER',
        exitCode: 5,
        cause: error,
      });
    default:
      return error;
  }
}
