/** The dialling side of the handshake: hello, then a reply to the challenge, then the ack checked. */
import { encodeFrame, FrameType } from '../frame-codec.js';
import { HandshakeError } from '../tcp.errors.js';
import { TcpMessages } from '../tcp.messages.js';
import { asHandshakeError, handshakeOver, outOfOrder } from './handshake-failures.js';
import { checkNodeName } from './handshake-options.js';
import { HandshakeSide, type SettledState } from './handshake-side.js';
import type { HandshakeCommonOptions, HandshakeResult, HandshakeStep } from './handshake.types.js';
import { encodeHandshakeFrame, encodeHandshakeMessage } from './message-encoder.js';
import type { AckMessage, ChallengeMessage, HandshakeMessage } from './message-schema.js';
import { checkOpening } from './opening.js';
import {
  freshNonce,
  type HandshakeTranscript,
  handshakeDigest,
  handshakeMac,
  macEquals,
} from './transcript.js';

/** Options of an {@link InitiatorHandshake}. */
export interface InitiatorHandshakeOptions extends HandshakeCommonOptions {
  /** The name of the node dialled; the handshake fails unless the acceptor has this name. */
  readonly expectedName: string;
}

/** Where an initiator stands. */
export type InitiatorState = 'new' | 'awaiting-challenge' | 'awaiting-ack' | 'done' | 'failed';

/**
 * The dialling side of a handshake. Call {@link InitiatorHandshake.start} once, write what it
 * returns, then feed each received handshake frame payload to {@link InitiatorHandshake.receive}.
 * Never throws once constructed.
 */
export class InitiatorHandshake extends HandshakeSide<
  Exclude<InitiatorState, SettledState>,
  HandshakeStep
> {
  private readonly expectedName: string;
  private helloDigest: Buffer | undefined;
  private transcript: HandshakeTranscript | undefined;
  private result: HandshakeResult | undefined;

  /**
   * @throws InvalidNodeNameError when `self.name` or `expectedName` is malformed.
   * @throws InvalidConfigError when another option is out of range.
   */
  constructor(options: InitiatorHandshakeOptions) {
    super(options, 'new');
    this.expectedName = checkNodeName(options.expectedName);
  }

  /** Builds the `hello` frame. */
  start(): HandshakeStep {
    if (this.isSettled()) return { error: handshakeOver(this.expectedName) };
    if (this.current !== 'new') return this.fail(outOfOrder(TcpMessages.alreadyStarted()));
    try {
      const { self, versions, capabilities, namespace } = this.checked;
      const hello = encodeHandshakeMessage({
        ...self,
        kind: 'hello',
        versionMin: versions.min,
        versionMax: versions.max,
        expectedName: this.expectedName,
        capabilities,
        ...(namespace === undefined ? {} : { namespace }),
      });
      this.helloDigest = handshakeDigest(hello);
      this.current = 'awaiting-challenge';
      return { send: [encodeFrame(FrameType.Handshake, hello)] };
    } catch (error) {
      return this.fail(asHandshakeError(error));
    }
  }

  /** Feeds the payload of a received handshake frame. Never throws. */
  receive(payload: Buffer): HandshakeStep {
    if (this.current === 'new') return this.fail(outOfOrder(TcpMessages.notStarted()));
    return this.handle(payload);
  }

  protected override get peerName(): string {
    return this.expectedName;
  }

  protected override onMessage(
    message: Exclude<HandshakeMessage, { kind: 'refused' }>,
    payload: Buffer,
  ): HandshakeStep | undefined {
    if (this.current === 'awaiting-challenge' && message.kind === 'challenge')
      return this.onChallenge(message, payload);
    if (this.current === 'awaiting-ack' && message.kind === 'ack') return this.onAck(message);
    return undefined;
  }

  protected override forget(): void {
    this.transcript = undefined;
  }

  private onChallenge(challenge: ChallengeMessage, payload: Buffer): HandshakeStep {
    const verdict = checkOpening(
      this.checked,
      { ...challenge, versionMin: challenge.version, versionMax: challenge.version },
      { role: 'initiator', dialled: this.expectedName },
    );
    if (!verdict.ok) return this.refuseWith(verdict.refusal);
    const { self, cookie, random } = this.checked;
    const nonce = freshNonce(random);
    this.transcript = {
      version: verdict.agreed.version,
      initiatorName: self.name,
      acceptorName: verdict.agreed.peer.name,
      initiatorIncarnation: self.incarnation,
      acceptorIncarnation: verdict.agreed.peer.incarnation,
      initiatorNonce: nonce,
      acceptorNonce: challenge.nonce,
      helloDigest: this.helloDigest!,
      challengeDigest: handshakeDigest(payload),
    };
    this.result = verdict.agreed;
    const mac = handshakeMac(cookie, 'initiator', this.transcript);
    this.current = 'awaiting-ack';
    return { send: [encodeHandshakeFrame({ kind: 'reply', nonce, mac })] };
  }

  private onAck(ack: AckMessage): HandshakeStep {
    const expected = handshakeMac(this.checked.cookie, 'acceptor', this.transcript!);
    const peer = this.result!.peer.name;
    if (!macEquals(ack.mac, expected)) {
      return this.fail(
        new HandshakeError(TcpMessages.badCookieFromAcceptor(peer), {
          code: 'ERR_BAD_COOKIE',
          reason: 'bad-cookie',
          peer,
          byPeer: false,
        }),
      );
    }
    this.current = 'done';
    this.transcript = undefined;
    return { done: this.result! };
  }
}
