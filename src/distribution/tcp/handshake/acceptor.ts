/**
 * The accepting side of the handshake: a challenge for the hello, then, once the reply proves the
 * cookie, the mesh's decision and the ack.
 */
import { describeValue } from '../../../core/index.js';
import { encodeFrame, FrameType } from '../frame-codec.js';
import { HandshakeError } from '../tcp.errors.js';
import { TcpMessages } from '../tcp.messages.js';
import { REASON_PATTERN } from './handshake.constants.js';
import { internalError } from './handshake-failures.js';
import { HandshakeMessages as M } from './handshake.messages.js';
import { HandshakeSide, type SettledState } from './handshake-side.js';
import type {
  HandshakeCommonOptions,
  HandshakePeer,
  HandshakeResult,
  HandshakeStep,
} from './handshake.types.js';
import { encodeHandshakeFrame, encodeHandshakeMessage } from './message-encoder.js';
import type { HandshakeMessage, HelloMessage, ReplyMessage } from './message-schema.js';
import { checkOpening } from './opening.js';
import { refusalOf, refuse } from './refusal.js';
import {
  freshNonce,
  type HandshakeTranscript,
  handshakeDigest,
  handshakeMac,
  macEquals,
} from './transcript.js';

/** The mesh's verdict on an authenticated inbound connection. */
export type HandshakeDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'duplicate-name' | 'simultaneous' | 'already-connected' | (string & {});
    };

/** Options of an {@link AcceptorHandshake}. */
export interface AcceptorHandshakeOptions extends HandshakeCommonOptions {
  /**
   * Called once the initiator has proved the cookie, never before: may the link be kept? Sync or
   * async. Not called for a peer claiming this node's own name (refused as `duplicate-name`).
   */
  readonly decide: (peer: HandshakePeer) => HandshakeDecision | PromiseLike<HandshakeDecision>;
}

/** Where an acceptor stands. */
export type AcceptorState = 'awaiting-hello' | 'awaiting-reply' | 'deciding' | 'done' | 'failed';

/** What the acceptor keeps between its challenge and the reply. */
interface AcceptorPending extends HandshakeResult {
  readonly nonce: Buffer;
  readonly helloDigest: Buffer;
  readonly challengeDigest: Buffer;
}

/**
 * The accepting side of a handshake: feed each received handshake frame payload to
 * {@link AcceptorHandshake.receive}. Before the initiator proves the cookie it holds only this
 * object (nothing keyed by the claimed name), and `decide` is asked only after that proof.
 * Never throws once constructed; the returned promise (when `decide` is async) never rejects.
 */
export class AcceptorHandshake extends HandshakeSide<
  Exclude<AcceptorState, SettledState>,
  HandshakeStep | Promise<HandshakeStep>
> {
  private readonly decide: AcceptorHandshakeOptions['decide'];
  private pending: AcceptorPending | undefined;

  /**
   * @throws InvalidNodeNameError when `self.name` is malformed.
   * @throws InvalidConfigError when another option is out of range.
   */
  constructor(options: AcceptorHandshakeOptions) {
    super(options, 'awaiting-hello');
    this.decide = options.decide;
  }

  /**
   * Feeds the payload of a received handshake frame. Returns a promise only when `decide` returned
   * one; if the handshake fails while `decide` runs, the promise resolves to that failure.
   */
  receive(payload: Buffer): HandshakeStep | Promise<HandshakeStep> {
    return this.handle(payload);
  }

  protected override get peerName(): string {
    return this.pending?.peer.name ?? M.unknownNode();
  }

  protected override onMessage(
    message: Exclude<HandshakeMessage, { kind: 'refused' }>,
    payload: Buffer,
  ): HandshakeStep | Promise<HandshakeStep> | undefined {
    if (this.current === 'awaiting-hello' && message.kind === 'hello')
      return this.onHello(message, payload);
    if (this.current === 'awaiting-reply' && message.kind === 'reply') return this.onReply(message);
    return undefined;
  }

  protected override forget(): void {
    this.pending = undefined;
  }

  private onHello(hello: HelloMessage, payload: Buffer): HandshakeStep {
    const verdict = checkOpening(this.checked, hello, {
      role: 'acceptor',
      dialled: hello.expectedName,
    });
    if (!verdict.ok) return this.refuseWith(verdict.refusal);
    const { self, capabilities, namespace, random } = this.checked;
    const nonce = freshNonce(random);
    const challenge = encodeHandshakeMessage({
      ...self,
      kind: 'challenge',
      version: verdict.agreed.version,
      capabilities,
      ...(namespace === undefined ? {} : { namespace }),
      nonce,
    });
    this.pending = {
      ...verdict.agreed,
      nonce,
      helloDigest: handshakeDigest(payload),
      challengeDigest: handshakeDigest(challenge),
    };
    this.current = 'awaiting-reply';
    return { send: [encodeFrame(FrameType.Handshake, challenge)] };
  }

  private onReply(reply: ReplyMessage): HandshakeStep | Promise<HandshakeStep> {
    const { self, cookie } = this.checked;
    const pending = this.pending!;
    const peer = pending.peer.name;
    const transcript: HandshakeTranscript = {
      version: pending.version,
      initiatorName: peer,
      acceptorName: self.name,
      initiatorIncarnation: pending.peer.incarnation,
      acceptorIncarnation: self.incarnation,
      initiatorNonce: reply.nonce,
      acceptorNonce: pending.nonce,
      helloDigest: pending.helloDigest,
      challengeDigest: pending.challengeDigest,
    };
    if (!macEquals(reply.mac, handshakeMac(cookie, 'initiator', transcript))) {
      return this.refuseWith(
        refuse('ERR_BAD_COOKIE', TcpMessages.badCookieFromInitiator(peer), 'bad-cookie', peer),
      );
    }
    // Authenticated from here on.
    if (peer === self.name) return this.reject(peer, 'duplicate-name');
    this.current = 'deciding';
    let decision: HandshakeDecision | PromiseLike<HandshakeDecision>;
    try {
      decision = this.decide(pending.peer);
    } catch (error) {
      return this.decideFailed(peer, error);
    }
    if (isPromiseLike(decision)) {
      return Promise.resolve(decision).then(
        d => this.decided(d, transcript),
        (error: unknown) => this.decideFailed(peer, error),
      );
    }
    return this.decided(decision, transcript);
  }

  private decided(decision: HandshakeDecision, transcript: HandshakeTranscript): HandshakeStep {
    if (this.current !== 'deciding') return { error: this.failure! };
    const pending = this.pending!;
    const peer = pending.peer.name;
    try {
      if (!isDecision(decision)) {
        const invalid = M.decisionInvalid(describeValue(decision));
        return this.decideFailed(peer, internalError(invalid, peer));
      }
      if (!decision.ok) {
        const reason =
          typeof decision.reason === 'string' && REASON_PATTERN.test(decision.reason)
            ? decision.reason
            : 'refused';
        return this.reject(peer, reason);
      }
      const ack = encodeHandshakeFrame({
        kind: 'ack',
        mac: handshakeMac(this.checked.cookie, 'acceptor', transcript),
      });
      this.current = 'done';
      this.pending = undefined;
      return {
        send: [ack],
        done: { peer: pending.peer, version: pending.version, capabilities: pending.capabilities },
      };
    } catch (error) {
      return this.decideFailed(peer, error);
    }
  }

  private decideFailed(peer: string, error: unknown): HandshakeStep {
    if (this.current !== 'deciding') return { error: this.failure! };
    return this.refuseWith(
      refusalOf(
        new HandshakeError(TcpMessages.decideFailed(peer, error), {
          code: 'ERR_HANDSHAKE_REFUSED',
          reason: 'internal',
          peer,
          byPeer: false,
          cause: error,
        }),
      ),
    );
  }

  /** Refuses an authenticated peer. */
  private reject(peer: string, reason: string): HandshakeStep {
    const duplicate = reason === 'duplicate-name';
    return this.refuseWith(
      refuse(
        duplicate ? 'ERR_DUPLICATE_NODE_NAME' : 'ERR_HANDSHAKE_REFUSED',
        duplicate ? TcpMessages.duplicateName(peer) : TcpMessages.refusedByUs(peer, reason),
        reason,
        peer,
      ),
    );
  }
}

function isDecision(value: unknown): value is HandshakeDecision {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { ok?: unknown }).ok === 'boolean'
  );
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
