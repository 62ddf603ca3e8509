import fc from 'fast-check';
import {
  EPMD_LIMITS,
  type EpmdNodeInfo,
  type EpmdRequest,
  checkNodeName,
  decodeAlive2Response,
  decodeNamesResponse,
  decodePort2Response,
  decodeRequest,
  encodeAlive2Response,
  encodeNamesResponse,
  encodePort2Response,
  encodeRequest,
  readRequestFrame,
} from './epmd-protocol.js';
import { EpmdProtocolError } from './port-mapper.errors.js';

/** A fixed seed, so CI runs the same cases; fast-check prints it with any counterexample. */
const PROPERTY = { seed: 1, numRuns: 1_000 } as const;

const hex = (text: string) => Buffer.from(text.replace(/[\s|]/g, ''), 'hex');

/** The node of the protocol guide's examples: "app" on port 40000, an OTP 23+ normal node. */
const APP: EpmdNodeInfo = {
  name: 'app',
  port: 40000,
  nodeType: 77,
  protocol: 0,
  highestVersion: 6,
  lowestVersion: 5,
  extra: new Uint8Array(0),
};

/** Names the port mapper accepts: 1-255 characters, no control character, at most 1020 bytes. */
const nodeName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter(name => {
  try {
    checkNodeName(name);
    return true;
  } catch {
    return false;
  }
});
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const nodeInfo: fc.Arbitrary<EpmdNodeInfo> = fc.record({
  name: nodeName,
  port: u16,
  nodeType: u8,
  protocol: u8,
  highestVersion: u16,
  lowestVersion: u16,
  extra: fc.uint8Array({ maxLength: 64 }),
});
const request: fc.Arbitrary<EpmdRequest> = fc.oneof(
  nodeInfo.map(info => ({ type: 'alive2' as const, ...info })),
  nodeName.map(name => ({ type: 'portPlease2' as const, name })),
  fc.constant({ type: 'names' as const }),
  fc.constant({ type: 'kill' as const }),
);

/** Runs `fn`; anything thrown must be an EpmdProtocolError. */
function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof EpmdProtocolError)) throw error;
    expect(error.code).toBe('ERR_EPMD_PROTOCOL');
  }
}

describe('EPMD codec', () => {
  describe('the example bytes of the protocol guide', () => {
    it('encodes ALIVE2_REQ for "app" on port 40000', () => {
      const frame = encodeRequest({ type: 'alive2', ...APP });
      expect(frame).toEqual(hex('00 10 | 78 9c 40 4d 00 00 06 00 05 00 03 61 70 70 00 00'));
    });

    it('encodes and decodes ALIVE2_X_RESP and ALIVE2_RESP', () => {
      expect(encodeAlive2Response({ result: 0, creation: 0x6650a1f3, extended: true })).toEqual(
        hex('76 00 66 50 a1 f3'),
      );
      expect(encodeAlive2Response({ result: 0, creation: 2, extended: false })).toEqual(
        hex('79 00 00 02'),
      );
      expect(decodeAlive2Response(hex('76 01 00 00 00 63'))).toEqual({
        value: { result: 1, creation: 99, extended: true },
        length: 6,
      });
      expect(decodeAlive2Response(hex('79 00 00 02'))).toEqual({
        value: { result: 0, creation: 2, extended: false },
        length: 4,
      });
    });

    it('encodes PORT_PLEASE2_REQ and NAMES_REQ', () => {
      expect(encodeRequest({ type: 'portPlease2', name: 'app' })).toEqual(hex('00 04 7a 61 70 70'));
      expect(encodeRequest({ type: 'names' })).toEqual(hex('00 01 6e'));
      expect(encodeRequest({ type: 'kill' })).toEqual(hex('00 01 6b'));
    });

    it('encodes and decodes PORT2_RESP, found and not found', () => {
      const found = hex('77 00 9c 40 4d 00 00 06 00 05 00 03 61 70 70 00 00');
      expect(encodePort2Response(APP)).toEqual(found);
      expect(decodePort2Response(found)).toEqual({ value: APP, length: found.length });
      expect(encodePort2Response(undefined)).toEqual(hex('77 01'));
      expect(decodePort2Response(hex('77 01'))).toEqual({ value: undefined, length: 2 });
    });

    it('encodes and decodes a NAMES answer', () => {
      const bytes = Buffer.concat([hex('00 00 11 11'), Buffer.from('name app at port 40000\n')]);
      expect(encodeNamesResponse(4369, [{ name: 'app', port: 40000 }])).toEqual(bytes);
      expect(decodeNamesResponse(bytes)).toEqual({
        mapperPort: 4369,
        names: [{ name: 'app', port: 40000 }],
      });
      expect(decodeNamesResponse(hex('00 00 11 11'))).toEqual({ mapperPort: 4369, names: [] });
    });
  });

  describe('request framing', () => {
    it('waits for the length and the body, then splits the frame off', () => {
      expect(readRequestFrame(Buffer.alloc(0))).toBeUndefined();
      expect(readRequestFrame(hex('00'))).toBeUndefined();
      expect(readRequestFrame(hex('00 03 6e'))).toBeUndefined();
      const frame = readRequestFrame(hex('00 01 6e 00 01'));
      expect(frame?.body).toEqual(hex('6e'));
      expect(frame?.rest).toEqual(hex('00 01'));
    });

    it.each([
      ['zero', 0],
      ['INBUF_SIZE - 2', 3058],
      ['63,000', 63_000],
      ['65,535', 65_535],
    ])('refuses a declared length of %s', (_label, length) => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(length);
      expect(() => readRequestFrame(head)).toThrow(EpmdProtocolError);
    });

    it('accepts the largest length epmd accepts', () => {
      const head = Buffer.alloc(2 + EPMD_LIMITS.maxRequestLength);
      head.writeUInt16BE(EPMD_LIMITS.maxRequestLength);
      expect(readRequestFrame(head)?.body.length).toBe(3057);
    });

    it('reads the same requests however the stream is cut', () => {
      fc.assert(
        fc.property(
          fc.array(request, { minLength: 1, maxLength: 5 }),
          fc.nat(),
          (requests, cut) => {
            const stream = Buffer.concat(requests.map(encodeRequest));
            const at = cut % (stream.length + 1);
            let buffer: Buffer = Buffer.from(stream.subarray(0, at));
            const decoded: EpmdRequest[] = [];
            const drain = () => {
              for (let frame = readRequestFrame(buffer); frame; frame = readRequestFrame(buffer)) {
                decoded.push(decodeRequest(frame.body));
                buffer = frame.rest;
              }
            };
            drain();
            buffer = Buffer.concat([buffer, stream.subarray(at)]);
            drain();
            expect(buffer.length).toBe(0);
            expect(decoded).toEqual(requests);
          },
        ),
        PROPERTY,
      );
    });
  });

  describe('requests', () => {
    it('round-trips every request', () => {
      fc.assert(
        fc.property(request, req => {
          const frame = readRequestFrame(encodeRequest(req));
          expect(frame?.rest.length).toBe(0);
          expect(decodeRequest(frame!.body)).toEqual(req);
        }),
        PROPERTY,
      );
    });

    it('strips one trailing NUL from a PORT_PLEASE2_REQ name (as epmd)', () => {
      expect(decodeRequest(hex('7a 61 70 70 00'))).toEqual({ type: 'portPlease2', name: 'app' });
    });

    const alive2 = (name: Buffer, extra = Buffer.alloc(0), extraLength = extra.length) => {
      const head = hex('78 9c 40 4d 00 00 06 00 05');
      const n = Buffer.alloc(2);
      n.writeUInt16BE(name.length);
      const e = Buffer.alloc(2);
      e.writeUInt16BE(extraLength);
      return Buffer.concat([head, n, name, e, extra]);
    };

    it.each([
      ['a NUL inside (name_with_null_inside)', Buffer.from('a\0b')],
      ['a trailing NUL (name_null_terminated)', Buffer.from('ab\0')],
      ['invalid UTF-8', hex('61 ff 62')],
      ['256 characters', Buffer.from('a'.repeat(256))],
      ['1021 bytes', Buffer.from('é'.repeat(510) + 'a')],
      ['a newline', Buffer.from('a\nname b at port 1')],
    ])('refuses an ALIVE2_REQ name with %s as a bad name', (_label, name) => {
      expect(() => decodeRequest(alive2(name))).toThrow(
        expect.objectContaining({ reason: 'bad-name' }),
      );
    });

    it('accepts a 255-character unicode name (long_unicode_name)', () => {
      const name = 'ø'.repeat(255);
      expect(decodeRequest(alive2(Buffer.from(name)))).toMatchObject({ type: 'alive2', name });
    });

    it('refuses ALIVE2_REQs too small, too large, or with lengths beyond the packet', () => {
      const ok = alive2(Buffer.from('app'));
      for (const bytes of [
        ok.subarray(0, 13), // alive_req_too_small: Elen cut off
        ok.subarray(0, 9),
        alive2(Buffer.alloc(0)), // empty name
        alive2(Buffer.from('app'), Buffer.alloc(0), 500), // buffer_overrun_1: fake Elen
        Buffer.concat([ok, hex('00')]), // trailing byte
        alive2(Buffer.from('app'), Buffer.alloc(1021)), // Extra over 1020 bytes
      ]) {
        expect(() => decodeRequest(bytes)).toThrow(EpmdProtocolError);
      }
      const fakeNameLength = Buffer.from(ok);
      fakeNameLength.writeUInt16BE(2000, 9);
      expect(() => decodeRequest(fakeNameLength)).toThrow(
        expect.objectContaining({ reason: 'malformed' }),
      );
    });

    it('marks KILL and every other request code', () => {
      expect(decodeRequest(hex('6b'))).toEqual({ type: 'kill' });
      for (const code of [100, 115, 0, 255]) {
        expect(() => decodeRequest(Buffer.of(code))).toThrow(
          expect.objectContaining({ reason: 'unsupported' }),
        );
      }
    });

    it('refuses to encode what it would refuse to decode', () => {
      expect(() => encodeRequest({ type: 'portPlease2', name: 'a\0' })).toThrow(EpmdProtocolError);
      expect(() => encodeRequest({ type: 'portPlease2', name: '\ud800' })).toThrow(
        EpmdProtocolError,
      );
      expect(() =>
        encodeRequest({
          type: 'alive2',
          name: 'a',
          port: 70_000,
          nodeType: 77,
          protocol: 0,
          highestVersion: 6,
          lowestVersion: 5,
          extra: new Uint8Array(0),
        }),
      ).toThrow(EpmdProtocolError);
    });
  });

  describe('answers', () => {
    it('round-trips ALIVE2 answers, also byte by byte', () => {
      fc.assert(
        fc.property(
          fc.boolean(),
          u8,
          fc.integer({ min: 0, max: 0xffffffff }),
          (extended, result, big) => {
            const answer = { result, creation: extended ? big : big & 0xffff, extended };
            const bytes = encodeAlive2Response(answer);
            for (let i = 1; i < bytes.length; i++)
              expect(decodeAlive2Response(bytes.subarray(0, i))).toBeUndefined();
            expect(decodeAlive2Response(bytes)).toEqual({ value: answer, length: bytes.length });
          },
        ),
        PROPERTY,
      );
    });

    it('round-trips PORT2 answers, also cut short', () => {
      fc.assert(
        fc.property(fc.option(nodeInfo, { nil: undefined }), fc.nat(), (node, cut) => {
          const bytes = encodePort2Response(node);
          const withMore = Buffer.concat([bytes, hex('ff ff')]);
          expect(decodePort2Response(withMore)).toEqual({ value: node, length: bytes.length });
          expect(decodePort2Response(bytes.subarray(0, cut % bytes.length))).toBeUndefined();
        }),
        PROPERTY,
      );
    });

    it('round-trips NAMES answers', () => {
      const entry = fc.record({ name: nodeName, port: u16 });
      fc.assert(
        fc.property(u16, fc.array(entry, { maxLength: 20 }), (mapperPort, names) => {
          expect(decodeNamesResponse(encodeNamesResponse(mapperPort, names))).toEqual({
            mapperPort,
            names,
          });
        }),
        PROPERTY,
      );
    });

    it('refuses NAMES answers that are not lines of "name <n> at port <p>"', () => {
      const head = hex('00 00 11 11');
      for (const text of ['name a at port 1', 'hello\n', 'name a at port 70000\n', '\n']) {
        expect(() => decodeNamesResponse(Buffer.concat([head, Buffer.from(text)]))).toThrow(
          EpmdProtocolError,
        );
      }
      expect(() => decodeNamesResponse(hex('00 00'))).toThrow(EpmdProtocolError);
      expect(() => decodeNamesResponse(Buffer.concat([head, hex('ff fe')]))).toThrow(
        EpmdProtocolError,
      );
    });

    it('refuses an answer of the wrong kind', () => {
      expect(() => decodeAlive2Response(hex('77 00'))).toThrow(EpmdProtocolError);
      expect(() => decodePort2Response(hex('76 00 00 00 00 01'))).toThrow(EpmdProtocolError);
    });
  });

  describe('random bytes', () => {
    it('never make a decoder throw anything but an EpmdProtocolError', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
          onlyTypedErrors(() => readRequestFrame(bytes));
          onlyTypedErrors(() => decodeRequest(bytes));
          onlyTypedErrors(() => decodeAlive2Response(bytes));
          onlyTypedErrors(() => decodePort2Response(bytes));
          onlyTypedErrors(() => decodeNamesResponse(bytes));
        }),
        { seed: 1, numRuns: 3_000 },
      );
    });

    it('never make a decoder throw anything else, starting with a valid code', () => {
      const withCode = fc
        .tuple(fc.constantFrom(120, 122, 110, 107, 118, 121, 119), fc.uint8Array({ maxLength: 80 }))
        .map(([code, rest]) => Buffer.concat([Buffer.of(code), rest]));
      fc.assert(
        fc.property(withCode, bytes => {
          onlyTypedErrors(() => decodeRequest(bytes));
          onlyTypedErrors(() => decodeAlive2Response(bytes));
          onlyTypedErrors(() => decodePort2Response(bytes));
        }),
        { seed: 1, numRuns: 3_000 },
      );
    });
  });
});
