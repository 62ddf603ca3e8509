/**
 * Errors of the cluster primitives, each with a stable `code`, built as
 * `new XError(message, details)` with the message from `primitives.messages.ts`.
 */
import { type ErrorDetails, GenClusterError } from '../core/index.js';

/** Every code raised by the primitives layer itself. */
export type PrimitivesErrorCode = 'ERR_NO_SERVER';

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
