/**
 * Refusals both ways: a local refusal is an error for this side plus a `refused` message telling
 * the peer why; a `refused` message from the peer becomes an error naming what it reported.
 */
import { DEFAULT_NAMESPACE } from '../../../core/index.js';
import {
  HandshakeError,
  type HandshakeErrorCode,
  type HandshakeFailureReason,
} from '../tcp.errors.js';
import { TcpMessages } from '../tcp.messages.js';
import { asHandshakeError } from './handshake-failures.js';
import { HandshakeMessages as M } from './handshake.messages.js';
import type { CheckedOptions } from './handshake-options.js';
import type { HandshakeStep } from './handshake.types.js';
import { encodeHandshakeFrame } from './message-encoder.js';
import type { RefusedMessage } from './message-schema.js';

/** A local refusal: the error, and the `refused` message telling the peer why. */
export interface Refusal {
  readonly error: HandshakeError;
  readonly message: RefusedMessage;
}

/** Builds a local refusal of `peer`, with `extra` facts for the peer's log. */
export function refuse(
  code: HandshakeErrorCode,
  text: string,
  reason: HandshakeFailureReason,
  peer: string,
  extra: Omit<RefusedMessage, 'kind' | 'reason'> = {},
): Refusal {
  return {
    error: new HandshakeError(text, { code, reason, peer, byPeer: false }),
    message: { kind: 'refused', reason, ...extra },
  };
}

/** Tells the peer about `error` with only its reason (no facts), e.g. `protocol` or `internal`. */
export function refusalOf(error: HandshakeError): Refusal {
  return { error, message: { kind: 'refused', reason: error.reason } };
}

/** The step of a local refusal: tell the peer why (best effort), then fail. */
export function refusalStep(refusal: Refusal): HandshakeStep {
  try {
    return { send: [encodeHandshakeFrame(refusal.message)], error: refusal.error };
  } catch {
    return { error: refusal.error };
  }
}

/**
 * What to do with something thrown while handling a received message: a malformed message is
 * refused (the peer learns it was `protocol`); any other failure ends the handshake silently.
 */
export function caughtFailure(error: unknown): Refusal | HandshakeError {
  const failure = asHandshakeError(error);
  return failure.reason === 'protocol' ? refusalOf(failure) : failure;
}

const REFUSAL_CODES: Readonly<Record<string, HandshakeErrorCode>> = {
  'bad-cookie': 'ERR_BAD_COOKIE',
  version: 'ERR_VERSION_MISMATCH',
  timing: 'ERR_TIMING_MISMATCH',
  'name-mismatch': 'ERR_NAME_MISMATCH',
  'duplicate-name': 'ERR_DUPLICATE_NODE_NAME',
  namespace: 'ERR_NAMESPACE_MISMATCH',
  protocol: 'ERR_PROTOCOL',
};

/**
 * The error for a `refused` message received from `node`: the code its reason maps to
 * (`ERR_HANDSHAKE_REFUSED` for reasons without one, including those of newer peers), and a text
 * with the facts the message carried.
 */
export function refusedError(
  message: RefusedMessage,
  node: string,
  checked: CheckedOptions,
): HandshakeError {
  const { reason } = message;
  const code = REFUSAL_CODES[reason] ?? 'ERR_HANDSHAKE_REFUSED';
  const { self, versions } = checked;
  let text: string;
  switch (code) {
    case 'ERR_BAD_COOKIE':
      text = TcpMessages.badCookieRefused(node);
      break;
    case 'ERR_VERSION_MISMATCH':
      text = TcpMessages.versionMismatch(
        node,
        M.versionRange(versions.min, versions.max),
        message.versionMin !== undefined && message.versionMax !== undefined
          ? M.versionRange(message.versionMin, message.versionMax)
          : undefined,
      );
      break;
    case 'ERR_TIMING_MISMATCH':
      text = TcpMessages.timingMismatch(
        node,
        self,
        message.heartbeatMs !== undefined && message.failureTimeoutMs !== undefined
          ? { heartbeatMs: message.heartbeatMs, failureTimeoutMs: message.failureTimeoutMs }
          : undefined,
      );
      break;
    case 'ERR_NAME_MISMATCH':
      text = TcpMessages.nameMismatch(node, message.name);
      break;
    case 'ERR_DUPLICATE_NODE_NAME':
      text = TcpMessages.duplicateName(self.name);
      break;
    case 'ERR_NAMESPACE_MISMATCH':
      text = M.namespaceMismatchByPeer(
        node,
        checked.namespace ?? DEFAULT_NAMESPACE,
        message.namespace,
      );
      break;
    default:
      text =
        reason === 'self'
          ? TcpMessages.selfConnection(self.name)
          : TcpMessages.refusedByPeer(node, reason);
  }
  return new HandshakeError(text, { code, reason, peer: node, byPeer: true });
}
