/**
 * What the initiator and the acceptor share: their checked options, where they stand, how a
 * received payload is decoded and routed, and how a failure ends the handshake.
 */
import { HandshakeError } from '../tcp.errors.js';
import { TcpMessages } from '../tcp.messages.js';
import { handshakeOver } from './handshake-failures.js';
import { type CheckedOptions, checkOptions } from './handshake-options.js';
import type { HandshakeCommonOptions, HandshakeStep } from './handshake.types.js';
import { decodeHandshakeMessage } from './message-decoder.js';
import type { HandshakeMessage } from './message-schema.js';
import { caughtFailure, type Refusal, refuse, refusalStep, refusedError } from './refusal.js';

/** The states every handshake ends in. */
export type SettledState = 'done' | 'failed';

/**
 * One side of a handshake. `Open` lists its states before it settles; `Reply` is what handling
 * a message returns (a promise only where the side waits on a callback).
 */
export abstract class HandshakeSide<
  Open extends string,
  Reply extends HandshakeStep | Promise<HandshakeStep>,
> {
  protected current: Open | SettledState;
  protected readonly checked: CheckedOptions;
  /** Why the handshake failed, once it did. */
  protected failure: HandshakeError | undefined;

  /**
   * @throws InvalidNodeNameError when `self.name` is malformed.
   * @throws InvalidConfigError when another option is out of range.
   */
  protected constructor(options: HandshakeCommonOptions, initial: Open) {
    this.checked = checkOptions(options);
    this.current = initial;
  }

  /** Where the handshake stands. */
  get state(): Open | SettledState {
    return this.current;
  }

  /** The peer's name as far as it is known, for errors. */
  protected abstract get peerName(): string;

  /**
   * Handles a decoded message other than `refused`, or returns `undefined` when its kind is not
   * expected in the current state.
   */
  protected abstract onMessage(
    message: Exclude<HandshakeMessage, { kind: 'refused' }>,
    payload: Buffer,
  ): Reply | undefined;

  /** Drops the secrets and state held for the next step, once the handshake failed. */
  protected abstract forget(): void;

  /**
   * Decodes a received payload and routes it. A `refused` message fails the handshake without an
   * answer; an unexpected or malformed one is refused; nothing is thrown.
   */
  protected handle(payload: Buffer): Reply | HandshakeStep {
    const peer = this.peerName;
    if (this.isSettled()) return { error: handshakeOver(peer) };
    try {
      const message = decodeHandshakeMessage(payload);
      if (message.kind === 'refused') return this.fail(refusedError(message, peer, this.checked));
      const step = this.onMessage(message, payload);
      if (step !== undefined) return step;
      const text = TcpMessages.unexpected(message.kind, this.current);
      return this.refuseWith(refuse('ERR_PROTOCOL', text, 'protocol', peer));
    } catch (error) {
      const failure = caughtFailure(error);
      return failure instanceof HandshakeError ? this.fail(failure) : this.refuseWith(failure);
    }
  }

  /** Whether the handshake is over, either way. */
  protected isSettled(): boolean {
    return this.current === 'done' || this.current === 'failed';
  }

  /** Fails, telling the peer why. */
  protected refuseWith(refusal: Refusal): HandshakeStep {
    this.fail(refusal.error);
    return refusalStep(refusal);
  }

  /** Fails without telling the peer. */
  protected fail(error: HandshakeError): HandshakeStep {
    this.current = 'failed';
    this.failure = error;
    this.forget();
    return { error };
  }
}
