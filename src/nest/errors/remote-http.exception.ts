/**
 * The caller's side of "errors keep their meaning": a remote handler's `HttpException` (or
 * `RpcException`) arrives as an `HttpException` again, so a controller that rethrows it answers
 * its client with the same status and body as the remote node would have.
 */
import { HttpException } from '@nestjs/common';
import type { RemoteError, RemoteErrorCode } from '../../distribution/index.js';

/**
 * A remote handler failed with an HTTP status: its `HttpException` (any subclass) or
 * `RpcException` crossed the wire as status and response body. `getStatus()` and `getResponse()`
 * give them back, so rethrowing it from an HTTP controller answers the client exactly as throwing
 * the remote exception locally would. The {@link RemoteError} it was made of is the `cause`.
 *
 * It is not `instanceof RemoteError` (a class has one parent, and Nest's exception filters need
 * `HttpException`): test for either with `isRemoteError(error)`.
 *
 * `message` is the `RemoteError`'s (it names the node, the topic and the remote error), not the
 * response's; the stack is this node's, never the remote one.
 * @publicApi
 */
export class RemoteHttpException extends HttpException {
  /** `ERR_REMOTE_HANDLER`, as the {@link RemoteError}'s. */
  readonly code: RemoteErrorCode;
  /** The node that answered. */
  readonly node: string;
  /** The request's topic. */
  readonly topic: string;
  /** `name` of the exception the remote handler threw (`"NotFoundException"`…). */
  readonly remoteName: string;
  /** `message` of that exception. */
  readonly remoteMessage: string;
  /** `code` of that exception, when it had a string (or numeric) one. */
  readonly remoteCode: string | undefined;

  /**
   * Built by `ClusterService` from a `RemoteError` that carries a status (see `fromRemoteError`).
   * The body is the remote response, or `{ statusCode, message }` when none crossed (an older
   * node's, or one that was not JSON or over 16 KiB); a `RemoteError` without a status gives 500.
   * @param remote the remote failure, kept as `cause`
   */
  constructor(remote: RemoteError) {
    const status = remote.status ?? 500;
    super(remote.response ?? { statusCode: status, message: remote.remoteMessage }, status, {
      cause: remote,
    });
    this.message = remote.message;
    this.code = remote.code;
    this.node = remote.node;
    this.topic = remote.topic;
    this.remoteName = remote.remoteName;
    this.remoteMessage = remote.remoteMessage;
    this.remoteCode = remote.remoteCode;
  }
}
