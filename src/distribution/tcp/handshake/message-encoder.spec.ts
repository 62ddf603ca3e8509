import { FrameType, FRAME_HEADER_BYTES } from '../frame-codec.js';
import { HandshakeError } from '../tcp.errors.js';
import { HANDSHAKE_MAX_PAYLOAD_BYTES } from './handshake.constants.js';
import { decodeHandshakeMessage } from './message-decoder.js';
import { encodeHandshakeFrame, encodeHandshakeMessage } from './message-encoder.js';
import type { HandshakeMessage } from './message-schema.js';
import { hello } from '../../../../test/support/handshake-harness.js';

function thrownBy(message: HandshakeMessage): unknown {
  try {
    encodeHandshakeMessage(message);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('encodeHandshakeMessage', () => {
  it('writes the kind byte, then each field as id, u16 length and value', () => {
    const payload = encodeHandshakeMessage({ kind: 'ack', mac: Buffer.alloc(32, 7) });
    expect(payload).toEqual(Buffer.concat([Buffer.from([4, 13, 0, 32]), Buffer.alloc(32, 7)]));
  });

  it('leaves out an absent listen port and an empty capability list', () => {
    const payload = encodeHandshakeMessage(hello({ listenPort: null, capabilities: [] }));
    const ids: number[] = [];
    for (let offset = 1; offset < payload.length; offset += 3 + payload.readUInt16BE(offset + 1))
      ids.push(payload[offset]!);
    expect(ids).toEqual([1, 2, 4, 5, 7, 8, 9, 10]);
  });

  it('writes the start time as field 16, a u64 big-endian, after the namespace', () => {
    const payload = encodeHandshakeMessage(
      hello({ capabilities: ['namespace', 'started'], namespace: 'ns', startedAt: 2 ** 53 - 1 }),
    );
    const tail = Buffer.from([
      15, 0, 2, 0x6e, 0x73, 16, 0, 8, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    expect(payload.subarray(payload.length - tail.length)).toEqual(tail);
  });

  it('wraps a message in a whole handshake frame', () => {
    const frame = encodeHandshakeFrame({ kind: 'refused', reason: 'timing' });
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame[4]).toBe(FrameType.Handshake);
    expect(decodeHandshakeMessage(frame.subarray(FRAME_HEADER_BYTES))).toEqual({
      kind: 'refused',
      reason: 'timing',
    });
  });

  it.each([
    [
      'a field over 65535 bytes',
      { kind: 'refused', reason: 'x', name: 'n'.repeat(70_000) } as const,
      'field 4',
    ],
    ['a capability over 255 bytes', hello({ capabilities: ['c'.repeat(300)] }), 'list item'],
    [
      'a start time that is not a safe integer',
      hello({ capabilities: ['started'], startedAt: 2 ** 53 }),
      'field 16',
    ],
    ['a negative start time', hello({ capabilities: ['started'], startedAt: -1 }), 'field 16'],
    [
      `a message over ${HANDSHAKE_MAX_PAYLOAD_BYTES} bytes`,
      { kind: 'refused', reason: 'x', name: 'n'.repeat(9_000) } as const,
      'refused',
    ],
  ] as [string, HandshakeMessage, string][])(
    'refuses %s with a typed HandshakeError (internal), not a RangeError',
    (_what, message, named) => {
      const thrown = thrownBy(message);
      expect(thrown).toBeInstanceOf(HandshakeError);
      expect(thrown).toMatchObject({
        code: 'ERR_HANDSHAKE_REFUSED',
        reason: 'internal',
        byPeer: false,
      });
      expect((thrown as Error).message).toContain(named);
    },
  );
});
