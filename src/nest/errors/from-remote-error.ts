/** The caller's mapping: what `ClusterService` throws in place of a messaging error. */
import { RemoteError } from '../../distribution/index.js';
import { RemoteHttpException } from './remote-http.exception.js';

/**
 * A {@link RemoteError} that carries an HTTP status becomes a {@link RemoteHttpException}; any
 * other value is returned unchanged (a `RemoteError` without a status stays one).
 * @internal
 */
export function fromRemoteError(error: Error): Error;
export function fromRemoteError(error: unknown): unknown;
export function fromRemoteError(error: unknown): unknown {
  return error instanceof RemoteError && error.status !== undefined
    ? new RemoteHttpException(error)
    : error;
}
