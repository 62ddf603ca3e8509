/**
 * User-facing texts of the `aggregate` discovery, kept in one place so they can be found and
 * improved.
 */
export const AggregateMessages = {
  /** What the options accept, for refusals. */
  accepts:
    'an object such as { strategy: "aggregate", of: [...], childTimeoutMs: 5000 }, "of" being a non-empty array of built-in discovery options ({ strategy: "hosts", file: "..." }), short forms ("gossip") or DiscoveryStrategy instances',
  notAnArray: (value: string) =>
    `Invalid aggregate discovery: "of" must be an array of discovery strategies; received ${value}.`,
  empty: () => 'Invalid aggregate discovery: "of" names no strategy; give at least one.',
  notAStrategy: (index: number, value: string) =>
    `Invalid aggregate discovery: of[${index}] is not a discovery strategy (an object with peers()); received ${value}.`,
  sameInstance: (first: number, again: number, name: string) =>
    `Invalid aggregate discovery: of[${again}] is the same "${name}" instance as of[${first}]; a strategy is started once, so give each child its own instance.`,
  tooDeep: (max: number) =>
    `Invalid aggregate discovery: aggregates are nested more than ${max} deep; flatten the "of" lists.`,
  notAnArrayAnswer: (type: string) => `peers() returned ${type}, not an array`,
  childTimedOut: (ms: number) => `no answer within ${ms} ms, the aggregate's childTimeoutMs`,
  childFailed: (source: string, consecutive: number, error: Error) =>
    `Discovery ${source} failed (${error.message}); keeping its last good peers (${consecutive} in a row).`,
  childRecovered: (source: string, failures: number) =>
    `Discovery ${source} answered again after ${failures} failed lookup(s).`,
  allFailed: (failures: readonly (readonly [string, Error])[]) =>
    `Every source of the aggregate discovery failed and none has answered yet: ${failures.map(([source, error]) => `${source}: ${error.message}`).join('; ')}.`,
  portConflict: (node: string, kept: string, keptPort: number, other: string, otherPort: number) =>
    `Discovery aggregate: ${node} has port ${keptPort} from ${kept} and ${otherPort} from ${other}; using ${kept}'s (the first in "of").`,
  closeFailed: (failures: readonly (readonly [string, Error])[]) =>
    `Closing the aggregate discovery: ${failures.map(([source, error]) => `${source} failed (${error.message})`).join('; ')}; the other sources were closed.`,
} as const;
