/**
 * Errors of the cluster primitives, each with a stable `code`, built as
 * `new XError(message, details)` with the message from `primitives.messages.ts`.
 */
import { type ErrorDetails, GenClusterError } from '../core/index.js';

/** Every code raised by the primitives layer itself. */
export type PrimitivesErrorCode =
  'ERR_NO_SERVER' | 'ERR_INVALID_ENTRY' | 'ERR_TOO_MANY_ENTRIES' | 'ERR_SINGLETON_EXISTS';

/** Details of a {@link NoServerError}. */
export interface NoServerDetails extends ErrorDetails {
  /** The topic nobody serves. */
  readonly topic: string;
  /** The nodes this call tried before none was left (empty when none served it). */
  readonly tried?: readonly string[];
}

/**
 * No connected node serves the topic (or every one that did failed this call). Nodes announce
 * their topics one round trip after they connect: wait with `waitForServers()` at start-up.
 */
export class NoServerError extends GenClusterError {
  declare readonly code: 'ERR_NO_SERVER';
  /** The topic nobody serves. */
  readonly topic: string;
  /** The nodes this call tried before none was left. */
  readonly tried: readonly string[];

  constructor(message: string, details: NoServerDetails) {
    super('ERR_NO_SERVER', message, details);
    this.topic = details.topic;
    this.tried = details.tried ?? [];
  }
}

/** Why a registry entry (a group name, a term) was refused. */
export type RegistryEntryProblem = 'kind' | 'form' | 'length' | 'reserved' | 'full';

/** Details of a {@link RegistryEntryError}. */
export interface RegistryEntryDetails extends ErrorDetails {
  /** `ERR_INVALID_ENTRY` (a bad kind or name) or `ERR_TOO_MANY_ENTRIES` (this node holds too many). */
  readonly code: 'ERR_INVALID_ENTRY' | 'ERR_TOO_MANY_ENTRIES';
  /** What is wrong. */
  readonly problem: RegistryEntryProblem;
  /** The entry's kind as given (`group`, `term`), when it was a string. */
  readonly kind?: string;
  /** The name as given, when it was a string. */
  readonly name?: string;
}

/**
 * A registry entry this node may not announce: an unknown kind, a name that is not a non-empty
 * string of at most 200 characters or that starts with the reserved `$gc.` prefix
 * (`ERR_INVALID_ENTRY`), or one more entry than a peer keeps of this node (`ERR_TOO_MANY_ENTRIES`).
 */
export class RegistryEntryError extends GenClusterError {
  declare readonly code: 'ERR_INVALID_ENTRY' | 'ERR_TOO_MANY_ENTRIES';
  /** What is wrong. */
  readonly problem: RegistryEntryProblem;
  /** The entry's kind as given, when it was a string. */
  readonly kind: string | undefined;
  /** The name as given, when it was a string. */
  readonly entryName: string | undefined;

  constructor(message: string, details: RegistryEntryDetails) {
    super(details.code, message, details);
    this.problem = details.problem;
    this.kind = details.kind;
    this.entryName = details.name;
  }
}
