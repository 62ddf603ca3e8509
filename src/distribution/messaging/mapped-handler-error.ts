/**
 * A handler failure already classified by a layer above messaging (the Nest layer): the error
 * itself, the HTTP status and response body the requester should get, and the level the serving
 * node logs it at. Messaging stays framework-free: it only reads these fields.
 */

/** How loudly the serving node logs a handler failure. */
export type HandlerFailureLogLevel = 'none' | 'debug' | 'warn' | 'error';

/**
 * Thrown (or rejected) by a handler wrapper in place of the original error.
 * Not exported from the package: the Nest layer builds it, messaging reads it.
 */
export class MappedHandlerError {
  constructor(
    /** What the handler threw. */
    readonly error: unknown,
    /** The level the serving node logs it at (once). */
    readonly log: HandlerFailureLogLevel,
    /** The HTTP status for the requester (400–599; another status does not cross), when the error had one. */
    readonly status?: number,
    /** The response body for the requester, when the error had a status. */
    readonly response?: unknown,
  ) {}
}
