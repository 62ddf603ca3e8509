import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import {
  ENVELOPE_HEADER_BYTES,
  EnvelopeKind,
  MAX_TOPIC_BYTES,
  decodeEnvelope,
  encodeEnvelope,
  envelopeLength,
} from './envelope.js';
import { MAX_HEADER_BYTES, encodeHeaders } from './envelope-headers.js';
import { EnvelopeError, InvalidTopicError } from './messaging.errors.js';

const kinds = fc.constantFrom(
  EnvelopeKind.Send,
  EnvelopeKind.Request,
  EnvelopeKind.Response,
  EnvelopeKind.ErrorResponse,
);
const topics = fc
  .string({ unit: 'grapheme', maxLength: 300 })
  .filter(topic => Buffer.byteLength(topic) <= MAX_TOPIC_BYTES);

function header(kind: number, requestId: number, topicLength: number): Buffer {
  const bytes = Buffer.alloc(ENVELOPE_HEADER_BYTES);
  bytes[0] = kind;
  bytes.writeUInt32BE(requestId, 1);
  bytes.writeUInt16BE(topicLength, 5);
  return bytes;
}

describe('message envelope', () => {
  it('lays out kind, request id, topic length, topic and body', () => {
    const body = Buffer.from([0xaa, 0xbb]);
    const parts = encodeEnvelope(EnvelopeKind.Request, 0x01020304, 'hé', body);
    expect(parts).toHaveLength(2);
    expect(parts[0].toString('hex')).toBe(
      '02' + '01020304' + '0003' + Buffer.from('hé').toString('hex'),
    );
    expect(parts[1]).toBe(body); // the body is not copied
    expect(envelopeLength(parts)).toBe(7 + 3 + 2);
  });

  it('round-trips any kind, request id, topic and body', () => {
    fc.assert(
      fc.property(
        kinds,
        fc.integer({ min: 0, max: 0xffff_ffff }),
        topics,
        fc.uint8Array({ maxLength: 256 }),
        (kind, requestId, topic, body) => {
          const parts = encodeEnvelope(kind, requestId, topic, Buffer.from(body));
          const bytes = Buffer.concat(parts);
          expect(bytes.length).toBe(envelopeLength(parts));
          const decoded = decodeEnvelope(bytes);
          expect(decoded).toEqual({ kind, requestId, topic, body: Buffer.from(body) });
        },
      ),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('decodes the body as a view of the received bytes, without copying', () => {
    const bytes = Buffer.concat(encodeEnvelope(EnvelopeKind.Send, 0, 't', Buffer.from('xyz')));
    const { body } = decodeEnvelope(bytes);
    expect(body.buffer).toBe(bytes.buffer);
    expect(body.toString()).toBe('xyz');
  });

  it('accepts a topic of exactly 1024 bytes and an empty topic', () => {
    const topic = 'é'.repeat(512);
    const parts = encodeEnvelope(EnvelopeKind.Send, 0, topic, Buffer.alloc(0));
    expect(decodeEnvelope(Buffer.concat(parts)).topic).toBe(topic);
    const response = encodeEnvelope(EnvelopeKind.Response, 9, '', Buffer.from([1]));
    expect(decodeEnvelope(Buffer.concat(response))).toMatchObject({ topic: '', requestId: 9 });
  });

  it.each([
    ['an empty message', Buffer.alloc(0)],
    ['a truncated header', header(1, 0, 0).subarray(0, 6)],
    ['kind 0', header(0, 0, 0)],
    ['kind 5', header(5, 0, 0)],
    ['a topic longer than the message', Buffer.concat([header(1, 0, 10), Buffer.from('short')])],
    [
      'a topic over 1024 bytes',
      Buffer.concat([header(1, 0, 1025), Buffer.alloc(1025, 0x61), Buffer.from([1])]),
    ],
    ['a topic that is not UTF-8', Buffer.concat([header(1, 0, 2), Buffer.from([0xc3, 0x28])])],
  ])('refuses %s with ERR_BAD_ENVELOPE', (_what, bytes) => {
    expect(() => decodeEnvelope(bytes)).toThrow(EnvelopeError);
    try {
      decodeEnvelope(bytes);
    } catch (error) {
      expect((error as EnvelopeError).code).toBe('ERR_BAD_ENVELOPE');
    }
  });

  it('writes and reads any topic as UTF-8 does, short ASCII ones without native calls alike', () => {
    const topics = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
    );
    fc.assert(
      fc.property(topics, fc.integer({ min: 0, max: 0xffff_ffff }), (topic, requestId) => {
        const utf8 = Buffer.from(topic, 'utf8');
        fc.pre(utf8.length <= MAX_TOPIC_BYTES);
        const [header] = encodeEnvelope(EnvelopeKind.Request, requestId, topic, Buffer.alloc(0));
        expect(header.readUInt32BE(1)).toBe(requestId);
        expect(header.readUInt16BE(5)).toBe(utf8.length);
        expect(header.subarray(ENVELOPE_HEADER_BYTES).equals(utf8)).toBe(true);
        expect(decodeEnvelope(header).topic).toBe(utf8.toString('utf8'));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses topic bytes that are not UTF-8, short or long, and reads the others', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), bytes => {
        const raw = Buffer.from(bytes);
        const header = Buffer.alloc(ENVELOPE_HEADER_BYTES);
        header[0] = EnvelopeKind.Send;
        header.writeUInt16BE(raw.length, 5);
        const message = Buffer.concat([header, raw]);
        if (isUtf8(raw)) expect(decodeEnvelope(message).topic).toBe(raw.toString('utf8'));
        else expect(() => decodeEnvelope(message)).toThrow(EnvelopeError);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws anything but an EnvelopeError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
        try {
          const envelope = decodeEnvelope(Buffer.from(bytes));
          // kinds 5 and 6 carry a length-prefixed header block before the body
          const headerBytes = envelope.headers === undefined ? 0 : 2 + envelope.headers.length;
          expect(envelope.body.length).toBe(
            bytes.length - ENVELOPE_HEADER_BYTES - Buffer.byteLength(envelope.topic) - headerBytes,
          );
        } catch (error) {
          expect(error).toBeInstanceOf(EnvelopeError);
        }
      }),
      { seed: 42, numRuns: 5000 },
    );
  });

  it('never throws anything but an EnvelopeError on random bytes behind a plausible header', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 1100 }),
        fc.uint8Array({ maxLength: 1200 }),
        (kind, topicLength, rest) => {
          try {
            decodeEnvelope(Buffer.concat([header(kind, 1, topicLength), rest]));
          } catch (error) {
            expect(error).toBeInstanceOf(EnvelopeError);
          }
        },
      ),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('refuses to encode a topic over 1024 bytes, an unknown kind or a request id out of range', () => {
    const body = Buffer.alloc(0);
    expect(() => encodeEnvelope(EnvelopeKind.Send, 0, 'x'.repeat(1025), body)).toThrow(
      InvalidTopicError,
    );
    expect(() => encodeEnvelope(9 as EnvelopeKind, 0, 't', body)).toThrow(EnvelopeError);
    expect(() => encodeEnvelope(EnvelopeKind.Request, -1, 't', body)).toThrow(EnvelopeError);
    expect(() => encodeEnvelope(EnvelopeKind.Request, 2 ** 32, 't', body)).toThrow(EnvelopeError);
    expect(() => encodeEnvelope(EnvelopeKind.Request, 1.5, 't', body)).toThrow(EnvelopeError);
  });

  describe('with headers (kinds 5 and 6)', () => {
    const headerSets = fc.dictionary(
      fc.stringMatching(/^[a-z0-9_-]{1,64}$/),
      fc.string({ maxLength: 100 }),
      { maxKeys: 16 },
    );

    it('round-trips a send or a request with any headers, reported as kind 1 or 2', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(EnvelopeKind.Send, EnvelopeKind.Request),
          fc.integer({ min: 0, max: 0xffff_ffff }),
          topics,
          headerSets,
          fc.uint8Array({ maxLength: 256 }),
          (kind, requestId, topic, headers, body) => {
            const block = encodeHeaders(headers);
            const bytes = Buffer.concat(
              encodeEnvelope(kind, requestId, topic, Buffer.from(body), block),
            );
            expect(bytes[0]).toBe(kind + 4);
            const decoded = decodeEnvelope(bytes);
            expect(decoded).toEqual({
              kind,
              requestId,
              topic,
              body: Buffer.from(body),
              headers: block,
            });
          },
        ),
        { seed: 42, numRuns: 1000 },
      );
    });

    it('lays out the header block between topic and body, length first', () => {
      const block = encodeHeaders({ a: 'b' });
      const parts = encodeEnvelope(EnvelopeKind.Request, 1, 't', Buffer.from([0xee]), block);
      expect(Buffer.concat(parts).toString('hex')).toBe(
        '06' + '00000001' + '0001' + '74' + '0006' + block.toString('hex') + 'ee',
      );
    });

    it('refuses headers with a response, and a block over 8 KiB', () => {
      const body = Buffer.alloc(0);
      const block = encodeHeaders({ a: 'b' });
      expect(() => encodeEnvelope(EnvelopeKind.Response, 1, '', body, block)).toThrow(
        EnvelopeError,
      );
      expect(() => encodeEnvelope(EnvelopeKind.SendWithHeaders, 0, 't', body)).toThrow(
        EnvelopeError,
      );
      expect(() =>
        encodeEnvelope(EnvelopeKind.Send, 0, 't', body, Buffer.alloc(MAX_HEADER_BYTES + 1)),
      ).toThrow(EnvelopeError);
    });

    it.each([
      ['kind 6 without its headers length', Buffer.concat([header(6, 1, 1), Buffer.from('t')])],
      [
        'a header block longer than the message',
        Buffer.concat([header(5, 0, 0), Buffer.from([0, 10, 1])]),
      ],
      [
        'a header block over 8 KiB',
        Buffer.concat([header(5, 0, 0), Buffer.from([0x20, 0x01]), Buffer.alloc(8193)]),
      ],
      ['kind 7', header(7, 0, 0)],
    ])('refuses %s with ERR_BAD_ENVELOPE', (_what, bytes) => {
      expect(() => decodeEnvelope(bytes)).toThrow(EnvelopeError);
    });
  });
});
