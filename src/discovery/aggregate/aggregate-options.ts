import { InvalidConfigError, checkMilliseconds, describeValue } from '../../core/index.js';
import { checkStrategyOptions, optionName } from '../option-checks.js';
import { MAX_AGGREGATE_DEPTH } from './aggregate.discovery.js';
import { AggregateMessages } from './aggregate.messages.js';

/**
 * The children of `{ strategy: 'aggregate', of: [...] }`, checked as far as the options go (an
 * object with only `strategy`, `of` and `childTimeoutMs`, `of` a non-empty array, `childTimeoutMs`
 * absent or a valid timeout); each child is the caller's to
 * build, so that discovery never needs to know the registry of built-in strategies.
 * @throws InvalidConfigError naming the option, the value and what is accepted
 */
export function aggregateChildren(options: unknown): readonly unknown[] {
  checkStrategyOptions(
    'aggregate',
    options,
    ['strategy', 'of', 'childTimeoutMs'],
    AggregateMessages.accepts,
  );
  // checked before the children are built, so this refusal comes first
  if (options.childTimeoutMs !== undefined)
    checkMilliseconds(optionName('aggregate', 'childTimeoutMs'), options.childTimeoutMs);
  const of = options.of;
  const option = optionName('aggregate', 'of');
  if (!Array.isArray(of))
    throw new InvalidConfigError(AggregateMessages.notAnArray(describeValue(of)), { option });
  if (of.length === 0) throw new InvalidConfigError(AggregateMessages.empty(), { option });
  return of as unknown[];
}

/**
 * Refuses an aggregate at `depth` (1 for the outermost) past {@link MAX_AGGREGATE_DEPTH}, before
 * its children are built: a deeply nested JSON option fails with this error, not a stack overflow.
 * @throws InvalidConfigError
 */
export function checkAggregateDepth(depth: number): void {
  if (depth > MAX_AGGREGATE_DEPTH)
    throw new InvalidConfigError(AggregateMessages.tooDeep(MAX_AGGREGATE_DEPTH), {
      option: optionName('aggregate', 'of'),
    });
}
