/**
 * Errors of the NATS connection, each with a stable `code`. Texts live in
 * `nats-connection.messages.ts`; no error message holds a credential.
 */
import { type ErrorDetails, GenClusterError } from '../../core/index.js';

/** Codes of the NATS connection's errors. */
export type NatsConnectionErrorCode =
  /** NATS refused the credentials at the first connect (authorization violation). */
  | 'ERR_NATS_AUTH'
  /** The TLS handshake failed at the first connect (certificate not trusted, wrong name, client certificate refused, no TLS on the server). */
  | 'ERR_NATS_TLS'
  /** The connection could not be set up for another reason retrying cannot fix, or it was closed while opening. */
  | 'ERR_NATS_CONNECT'
  /** A publish or a flush while cut off from NATS: nothing was sent or buffered. */
  | 'ERR_NATS_NOT_CONNECTED'
  /** A payload over the server's max_payload. */
  | 'ERR_NATS_PAYLOAD_TOO_LARGE'
  /** A flush got no answer in time. */
  | 'ERR_NATS_FLUSH_TIMEOUT';

/** Opening the connection to NATS failed for a reason retrying cannot fix; `code` says which. */
export class NatsConnectionError extends GenClusterError {
  declare readonly code:
    'ERR_NATS_AUTH' | 'ERR_NATS_TLS' | 'ERR_NATS_CONNECT' | 'ERR_NATS_FLUSH_TIMEOUT';

  constructor(
    message: string,
    details: ErrorDetails & {
      readonly code:
        'ERR_NATS_AUTH' | 'ERR_NATS_TLS' | 'ERR_NATS_CONNECT' | 'ERR_NATS_FLUSH_TIMEOUT';
    },
  ) {
    super(details.code, message, details);
  }
}

/**
 * The connection to NATS is down (or closed): nothing was sent, and nothing is kept to be sent
 * later. The connection comes back by itself; the caller decides whether to retry.
 */
export class NatsNotConnectedError extends GenClusterError {
  declare readonly code: 'ERR_NATS_NOT_CONNECTED';

  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_NATS_NOT_CONNECTED', message, details);
  }
}

/** A payload is larger than the server's `max_payload`; it was not sent. */
export class NatsPayloadTooLargeError extends GenClusterError {
  declare readonly code: 'ERR_NATS_PAYLOAD_TOO_LARGE';
  /** The payload's size in bytes. */
  readonly bytes: number;
  /** The server's max_payload in bytes. */
  readonly maxPayload: number;

  constructor(
    message: string,
    details: ErrorDetails & { readonly bytes: number; readonly maxPayload: number },
  ) {
    super('ERR_NATS_PAYLOAD_TOO_LARGE', message, details);
    this.bytes = details.bytes;
    this.maxPayload = details.maxPayload;
  }
}
