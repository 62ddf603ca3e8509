/**
 * Errors of leadership and singletons, built as `new XError(message, details)` with the message
 * from `leadership.messages.ts`.
 */
import { type ErrorDetails, GenClusterError } from '../../core/index.js';

/** Details of a {@link SingletonExistsError}. */
export interface SingletonExistsDetails extends ErrorDetails {
  /** The singleton name already registered. */
  readonly singleton: string;
}

/**
 * `singleton(name, hooks)` was called with a name already registered on this node (or one whose
 * unregistration is still stopping it).
 */
export class SingletonExistsError extends GenClusterError {
  declare readonly code: 'ERR_SINGLETON_EXISTS';
  /** The singleton name already registered (`name` is the error class's, as on every Error). */
  readonly singleton: string;

  constructor(message: string, details: SingletonExistsDetails) {
    super('ERR_SINGLETON_EXISTS', message, details);
    this.singleton = details.singleton;
  }
}
