import { parseArgs } from 'node:util';
import { MAX_TIMER_MS, nodeKey, parseNodeName } from '../core/index.js';
import { usageError } from './cli.errors.js';
import { CliMessages } from './cli.messages.js';

/** What the command was asked to do. */
export type CliCommand =
  | { readonly name: 'members'; readonly node?: string }
  | { readonly name: 'ping'; readonly node: string; readonly count: number }
  | { readonly name: 'info'; readonly node: string }
  | { readonly name: 'names'; readonly host: string }
  | { readonly name: 'watch' };

/** The parsed command line. */
export interface CliArgs {
  /** `undefined` with `--help`. */
  readonly command: CliCommand | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
  /** `--seed` values, in order. */
  readonly seeds: readonly string[];
}

/** Defaults of the options. */
export const CLI_DEFAULTS = Object.freeze({ timeoutMs: 5_000, count: 3, host: '127.0.0.1' });

const MAX_COUNT = 1_000;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  seed: { type: 'string', multiple: true },
  node: { type: 'string' },
  count: { type: 'string' },
} as const;

/** Parses `argv` (without node and the script); throws a usage `CliError` (exit 1). */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(CliMessages.badArguments((error as Error).message));
  }
  const { values, positionals } = parsed;
  const timeoutMs =
    values.timeout === undefined
      ? CLI_DEFAULTS.timeoutMs
      : integer('timeout', values.timeout, 1, MAX_TIMER_MS);
  const seeds = (values.seed ?? []).map(seed => checkedName('--seed', seed));
  const base = { json: values.json === true, timeoutMs, seeds };
  if (values.help === true) return { ...base, command: undefined };
  const [name, ...rest] = positionals;
  if (name === undefined) throw usageError(CliMessages.noCommand());
  if (values.node !== undefined && name !== 'members')
    throw usageError(CliMessages.optionNotFor('node', name));
  if (values.count !== undefined && name !== 'ping')
    throw usageError(CliMessages.optionNotFor('count', name));
  const noMore = (max: number) => {
    if (rest.length > max) throw usageError(CliMessages.extraArguments(name, rest.slice(max)));
  };
  switch (name) {
    case 'members':
      noMore(0);
      return {
        ...base,
        command: {
          name,
          ...(values.node === undefined ? {} : { node: nodeName('--node', values.node) }),
        },
      };
    case 'ping':
    case 'info': {
      noMore(1);
      if (rest[0] === undefined) throw usageError(CliMessages.missingNode(name));
      const node = nodeName(name, rest[0]);
      if (name === 'info') return { ...base, command: { name, node } };
      const count =
        values.count === undefined
          ? CLI_DEFAULTS.count
          : integer('count', values.count, 1, MAX_COUNT);
      return { ...base, command: { name, node, count } };
    }
    case 'names':
      noMore(1);
      return { ...base, command: { name, host: rest[0] ?? CLI_DEFAULTS.host } };
    case 'watch':
      noMore(0);
      return { ...base, command: { name } };
    default:
      throw usageError(CliMessages.unknownCommand(name));
  }
}

function integer(option: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max)
    throw usageError(CliMessages.badInteger(option, value, min, max));
  return number;
}

/** A node name as given (its port kept, for seeds); refused when it does not parse. */
function checkedName(option: string, value: string): string {
  try {
    parseNodeName(value);
  } catch (error) {
    throw usageError(CliMessages.badNodeName(option, value, (error as Error).message));
  }
  return value;
}

/** The canonical name of a node to ask (`name@host`, as members are named). */
const nodeName = (option: string, value: string): string => nodeKey(checkedName(option, value));
