import { InvalidConfigError, isPlainObject } from '../core/index.js';
import { ConfigMessages } from './config.messages.js';

/** Every key of `ClusterOptions`, so a misspelt one is refused rather than ignored. */
export const CLUSTER_OPTION_KEYS = [
  'node',
  'discovery',
  'dist',
  'refreshIntervalMs',
  'removalPolicy',
  'connectConcurrency',
  'connectTimeoutMs',
  'discoveryTimeoutMs',
  'backoff',
  'useEnv',
  'namespace',
  'logLevel',
  'logFormat',
  'quorum',
  'formation',
] as const;

/**
 * Refuses options that are not an object, or that carry a key no layer reads: a typo
 * (`discovry`) would otherwise silently mean "no discovery". Keys that belong beside a factory,
 * not in its result (`name`, `isGlobal` of `forRootAsync`), get their own message.
 * @param where how the options were given, for the message (`'GenClusterModule.forRoot()'`)
 * @param extraKeys keys the caller also accepts
 * @param besideFactory keys that must not come out of a factory
 */
export function checkOptionKeys(
  where: string,
  options: unknown,
  extraKeys: readonly string[] = [],
  besideFactory: readonly string[] = [],
): void {
  if (!isPlainObject(options)) {
    throw new InvalidConfigError(ConfigMessages.optionsNotObject(where, options));
  }
  const known = [...CLUSTER_OPTION_KEYS, ...extraKeys];
  for (const key of Object.keys(options)) {
    if (besideFactory.includes(key)) {
      throw new InvalidConfigError(ConfigMessages.besideFactory(where, key), { option: key });
    }
    if (!known.includes(key)) {
      throw new InvalidConfigError(ConfigMessages.unknownOption(where, key, known), {
        option: key,
      });
    }
  }
}
