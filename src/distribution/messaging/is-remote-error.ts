/**
 * One test for "a remote node reported this failure", whichever layer built the error: the
 * messaging layer's {@link RemoteError}, or an error a layer above made of one (the Nest layer's
 * `RemoteHttpException`, an `HttpException` that cannot also extend `RemoteError`). Duck-typed,
 * so it holds across copies of the package and stays free of any framework.
 */
import { RemoteError, type RemoteErrorCode, type RemoteErrorDetails } from './messaging.errors.js';

/** What {@link isRemoteError} guarantees of an error. */
export type RemoteFailure = Error &
  RemoteErrorDetails & {
    readonly code: RemoteErrorCode;
    /** The node that answered. */
    readonly node: string;
    /** The request's topic. */
    readonly topic: string;
  };

/**
 * Whether `error` is a remote node's failure: a {@link RemoteError}, or any `Error` with code
 * `ERR_REMOTE_HANDLER` or `ERR_NO_HANDLER` and string `node`, `topic` and `remoteName` (as the
 * Nest layer's `RemoteHttpException`).
 */
export function isRemoteError(error: unknown): error is RemoteError | RemoteFailure {
  if (error instanceof RemoteError) return true;
  if (!(error instanceof Error)) return false;
  const { code, node, topic, remoteName } = error as Error & Partial<Record<string, unknown>>;
  return (
    (code === 'ERR_REMOTE_HANDLER' || code === 'ERR_NO_HANDLER') &&
    typeof node === 'string' &&
    typeof topic === 'string' &&
    typeof remoteName === 'string'
  );
}
