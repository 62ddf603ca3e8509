/**
 * Errors thrown at once by a send or a request (by the transport, the codec or the pending
 * table) name the node and the topic, as the errors of a pending request do: a caller that
 * catches one of many sends can tell which failed. The transport and the codec know neither, so
 * messaging re-creates their errors with both.
 */
import { NodeDownError, QueueFullError, MessageTooLargeError } from '../transport.errors.js';
import { PayloadError, TooManyRequestsError } from './messaging.errors.js';

/**
 * The same error, of the same class, code and message, with `node` and `topic` set and the
 * original as `cause`; other values, and errors that already name both, are returned as they
 * are.
 * @internal
 */
export function withRequest(error: unknown, node: string, topic: string): unknown {
  if (error instanceof NodeDownError) {
    if (error.topic !== undefined) return error;
    return new NodeDownError(error.message, { node: error.node, topic, cause: error });
  }
  if (error instanceof QueueFullError) {
    if (error.topic !== undefined) return error;
    return new QueueFullError(error.message, { node: error.node ?? node, topic, cause: error });
  }
  if (error instanceof MessageTooLargeError) {
    if (error.topic !== undefined) return error;
    const { bytes, limit } = error;
    return new MessageTooLargeError(error.message, {
      node: error.node,
      bytes,
      limit,
      topic,
      cause: error,
    });
  }
  if (error instanceof PayloadError) {
    if (error.topic !== undefined) return error;
    const { code, bytes, limit } = error;
    return new PayloadError(error.message, {
      code,
      ...(bytes === undefined ? {} : { bytes }),
      ...(limit === undefined ? {} : { limit }),
      node,
      topic,
      cause: error,
    });
  }
  if (error instanceof TooManyRequestsError) {
    if (error.topic !== undefined) return error;
    return new TooManyRequestsError(error.message, {
      limit: error.limit,
      node,
      topic,
      cause: error,
    });
  }
  return error;
}
