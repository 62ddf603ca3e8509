/**
 * The HTTP status and response body a failure classified above messaging (a MappedHandlerError)
 * carries in an error response, their bounds, and what an older node's body gives.
 */
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { A, B, MemoryNetwork, rejection } from '../../../test/support/messaging-harness.js';
import { EnvelopeKind } from './envelope.js';
import { MappedHandlerError } from './mapped-handler-error.js';
import { RemoteError } from './messaging.errors.js';
import {
  MAX_ERROR_BODY_BYTES,
  MAX_ERROR_RESPONSE_BYTES,
  type WireError,
  encodeWireError,
  handlerFailure,
  parseWireError,
} from './wire-error.js';

/** A fixed seed, so CI runs the same cases; fast-check prints it with any counterexample. */
const PROPERTY = { seed: 13, numRuns: 1_000 } as const;

/** An error as an HTTP layer names it (the messaging layer knows no framework). */
const notFound = (message = 'Price "missing" not found') =>
  Object.assign(new Error(message), { name: 'NotFoundException' });
const notFoundBody = (message = 'Price "missing" not found') => ({
  statusCode: 404,
  message,
  error: 'Not Found',
});

/** The wire round trip of a thrown value, as a requester on node B, topic `t`, sees it. */
const roundTrip = (thrown: unknown): RemoteError =>
  parseWireError(B, 't', encodeWireError(handlerFailure(thrown)));

describe('errors to and from the wire: status and response', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  describe('status and response (a failure a layer above classified)', () => {
    it('carries the status and response of a MappedHandlerError through real messaging', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('prices.get', () => {
        throw new MappedHandlerError(notFound(), 'debug', 404, notFoundBody());
      });
      b.on('prices.async', async () => {
        throw new MappedHandlerError(notFound('gone'), 'debug', 410, { reason: 'gone' });
      });
      const error = await rejection(a.request(B, 'prices.get', 1));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        node: B,
        topic: 'prices.get',
        remoteName: 'NotFoundException',
        remoteMessage: 'Price "missing" not found',
        status: 404,
        response: notFoundBody(),
      });
      const wire = net.sent.find(s => s.envelope.kind === EnvelopeKind.ErrorResponse)!;
      expect(JSON.parse(wire.envelope.body.toString())).toEqual({
        code: 'ERR_REMOTE_HANDLER',
        name: 'NotFoundException',
        message: 'Price "missing" not found',
        status: 404,
        response: notFoundBody(),
      });
      expect(await rejection(a.request(B, 'prices.async', 1))).toMatchObject({
        remoteName: 'NotFoundException',
        status: 410,
        response: { reason: 'gone' },
      });
    });

    it('takes name, message and code from the wrapped error, never its stack', () => {
      const inner = Object.assign(notFound(), { code: 'E_PRICE' });
      const failure = handlerFailure(new MappedHandlerError(inner, 'debug', 404, notFoundBody()));
      expect(failure).toEqual({
        code: 'ERR_REMOTE_HANDLER',
        name: 'NotFoundException',
        message: 'Price "missing" not found',
        remoteCode: 'E_PRICE',
        status: 404,
        response: notFoundBody(),
      });
      const body = encodeWireError(failure).toString();
      expect(body).not.toContain('stack');
      expect(body).not.toContain(inner.stack!.split('\n')[1]!.trim());
      // A wrapped value that is not an Error renders as before.
      expect(handlerFailure(new MappedHandlerError('plain', 'warn'))).toEqual({
        code: 'ERR_REMOTE_HANDLER',
        name: 'Error',
        message: 'plain',
      });
    });

    it('sends no status or response when the mapped error has none', () => {
      const failure = handlerFailure(new MappedHandlerError(new TypeError('bad'), 'error'));
      expect(failure).toEqual({ code: 'ERR_REMOTE_HANDLER', name: 'TypeError', message: 'bad' });
      expect(roundTrip(new MappedHandlerError(new TypeError('bad'), 'error'))).toMatchObject({
        remoteName: 'TypeError',
        status: undefined,
        response: undefined,
      });
      // With a status and no response, the requester gets the status alone.
      const bare = handlerFailure(new MappedHandlerError(notFound(), 'debug', 404));
      expect(bare).toEqual({
        code: 'ERR_REMOTE_HANDLER',
        name: 'NotFoundException',
        message: 'Price "missing" not found',
        status: 404,
      });
      expect(roundTrip(new MappedHandlerError(notFound(), 'debug', 404))).toMatchObject({
        status: 404,
        response: undefined,
      });
    });

    it('drops a response nested too deep to be written again, and __proto__ keys of a response', () => {
      const deep = '{"a":'.repeat(30_000) + '1' + '}'.repeat(30_000);
      const nested = parseWireError(
        B,
        't',
        Buffer.from(
          `{"code":"ERR_REMOTE_HANDLER","name":"X","message":"m","status":404,"response":${deep}}`,
        ),
      );
      expect(nested.remoteName === 'X' || nested.remoteName === 'Error').toBe(true);
      expect(nested.response).toBeUndefined();
      expect(() => JSON.stringify(nested.response)).not.toThrow();
      const polluted = parseWireError(
        B,
        't',
        Buffer.from(
          '{"code":"ERR_REMOTE_HANDLER","name":"X","message":"m","status":404,' +
            '"response":{"statusCode":404,"__proto__":{"admin":true},"nested":{"__proto__":{"x":1}}}}',
        ),
      );
      expect(polluted.status).toBe(404);
      const copy = Object.assign({}, polluted.response) as Record<string, unknown>;
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect(copy.admin).toBeUndefined();
      expect(Object.keys(polluted.response as object)).toEqual(['statusCode', 'nested']);
      expect(Object.keys((polluted.response as { nested: object }).nested)).toEqual([]);
    });

    it('drops a status that is not an integer from 400 to 599 (no 1xx, 2xx or 3xx), on either side', () => {
      for (const status of [99, 100, 103, 200, 302, 399, 600, 404.5, -404, NaN, Infinity, 1e9]) {
        const failure = handlerFailure(new MappedHandlerError(notFound(), 'debug', status, {}));
        expect(failure).not.toHaveProperty('status');
        expect(failure).not.toHaveProperty('response');
      }
      for (const status of [
        99,
        101,
        103,
        204,
        399,
        600,
        404.5,
        '404',
        null,
        true,
        [404],
        { n: 404 },
      ]) {
        const body = Buffer.from(
          JSON.stringify({
            code: 'ERR_REMOTE_HANDLER',
            name: 'X',
            message: 'm',
            status,
            response: {},
          }),
        );
        const error = parseWireError(B, 't', body);
        expect(error).toMatchObject({ remoteName: 'X', status: undefined, response: undefined });
      }
      for (const status of [400, 404, 599]) {
        expect(roundTrip(new MappedHandlerError(notFound(), 'debug', status, {}))).toMatchObject({
          status,
          response: {},
        });
      }
    });

    it('keeps a response of up to 16 KiB and replaces a larger one by { statusCode, message }', () => {
      // JSON.stringify of { b: '…' } is 8 bytes more than the string itself.
      const fits = { b: 'x'.repeat(MAX_ERROR_RESPONSE_BYTES - 8) };
      expect(Buffer.byteLength(JSON.stringify(fits))).toBe(MAX_ERROR_RESPONSE_BYTES);
      expect(roundTrip(new MappedHandlerError(notFound(), 'debug', 404, fits)).response).toEqual(
        fits,
      );
      // Counted in encoded bytes, not characters: one 'é' is two bytes.
      const over = { b: 'é'.repeat(MAX_ERROR_RESPONSE_BYTES / 2) };
      expect(roundTrip(new MappedHandlerError(notFound(), 'debug', 404, over))).toMatchObject({
        status: 404,
        response: { statusCode: 404, message: 'Price "missing" not found' },
      });
      const huge = { b: 'x'.repeat(1024 * 1024) };
      expect(roundTrip(new MappedHandlerError(notFound(), 'debug', 413, huge))).toMatchObject({
        status: 413,
        response: { statusCode: 413, message: 'Price "missing" not found' },
      });
      // The fallback's message is the error's, cut as the message is (8 KiB).
      const long = new MappedHandlerError(notFound('m'.repeat(20_000)), 'debug', 404, huge);
      expect((handlerFailure(long).response as { message: string }).message.length).toBe(8 * 1024);
    });

    it('replaces a response that is not JSON (cycle, BigInt, throwing toJSON, function)', () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const hostile = {
        toJSON(): never {
          throw new Error('no');
        },
      };
      const deep: Record<string, unknown> = {};
      let level = deep;
      for (let i = 0; i < 100_000; i++) level = level.next = {};
      for (const response of [cyclic, { n: 10n }, hostile, () => 1, Symbol('s'), deep]) {
        expect(roundTrip(new MappedHandlerError(notFound(), 'debug', 400, response))).toMatchObject(
          { status: 400, response: { statusCode: 400, message: 'Price "missing" not found' } },
        );
      }
    });

    it('sends a copy of the response as measured, whatever its toJSON answers next', () => {
      let calls = 0;
      const changing = { toJSON: () => (++calls === 1 ? { small: true } : 'x'.repeat(100_000)) };
      const failure = handlerFailure(new MappedHandlerError(notFound(), 'debug', 404, changing));
      expect(failure.response).toEqual({ small: true });
      expect(parseWireError(B, 't', encodeWireError(failure)).response).toEqual({ small: true });
    });

    it('keeps every error body under 64 KiB, dropping the response when escapes swell it', () => {
      // Control characters escape to six bytes each: the message takes 48 KiB, and the fallback
      // response { statusCode, message } for a response that is not JSON as much again.
      const swollen = '\u0001'.repeat(8 * 1024);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const failure = handlerFailure(
        new MappedHandlerError(notFound(swollen), 'debug', 404, cyclic),
      );
      expect(failure.response).toEqual({ statusCode: 404, message: swollen });
      expect(Buffer.byteLength(JSON.stringify(failure))).toBeGreaterThan(MAX_ERROR_BODY_BYTES);
      const body = encodeWireError(failure);
      expect(body.length).toBeLessThanOrEqual(MAX_ERROR_BODY_BYTES);
      const error = parseWireError(B, 't', body);
      expect(error).toMatchObject({ remoteName: 'NotFoundException', status: 404 });
      expect(error.remoteMessage).toBe(swollen);
      expect(error.response).toBeUndefined();
    });

    it("reads an older node's body (no status, no response) as a plain RemoteError", () => {
      // What a node before status and response sends (commit 844962a's handlerFailure).
      const old = Buffer.from(
        JSON.stringify({ code: 'ERR_REMOTE_HANDLER', name: 'NotFoundException', message: 'x' }),
      );
      const error = parseWireError(B, 't', old);
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'NotFoundException',
        remoteMessage: 'x',
        status: undefined,
        response: undefined,
      });
      // A response without a status is not kept either: it has no meaning without one.
      const orphan = Buffer.from(JSON.stringify({ name: 'X', message: 'm', response: { a: 1 } }));
      expect(parseWireError(B, 't', orphan)).toMatchObject({
        status: undefined,
        response: undefined,
      });
      // ERR_NO_HANDLER never carries a status.
      const noHandler = Buffer.from(JSON.stringify({ code: 'ERR_NO_HANDLER', status: 404 }));
      expect(parseWireError(B, 't', noHandler)).toMatchObject({
        code: 'ERR_NO_HANDLER',
        status: undefined,
      });
    });

    it('does not parse a body over 64 KiB: a generic RemoteError', () => {
      const fields: WireError = {
        code: 'ERR_REMOTE_HANDLER',
        name: 'NotFoundException',
        message: 'x',
        status: 404,
        response: { pad: 'p'.repeat(MAX_ERROR_BODY_BYTES) },
      };
      const body = Buffer.from(JSON.stringify(fields));
      expect(body.length).toBeGreaterThan(MAX_ERROR_BODY_BYTES);
      const parse = jest.spyOn(JSON, 'parse');
      try {
        const error = parseWireError(B, 't', body);
        expect(parse).not.toHaveBeenCalled();
        expect(error).toBeInstanceOf(RemoteError);
        expect(error).toMatchObject({
          code: 'ERR_REMOTE_HANDLER',
          node: B,
          topic: 't',
          remoteName: 'Error',
          remoteMessage: '',
          status: undefined,
          response: undefined,
        });
      } finally {
        parse.mockRestore();
      }
      // One byte less than the bound is read.
      const padded = (n: number) =>
        Buffer.from(JSON.stringify({ ...fields, response: { pad: 'p'.repeat(n) } }));
      const overhead = padded(0).length;
      expect(parseWireError(B, 't', padded(MAX_ERROR_BODY_BYTES - overhead))).toMatchObject({
        status: 404,
        remoteName: 'NotFoundException',
      });
      expect(parseWireError(B, 't', padded(MAX_ERROR_BODY_BYTES - overhead + 1))).toMatchObject({
        status: undefined,
        remoteName: 'Error',
      });
    });

    it('makes a well-formed RemoteError of any body (property)', () => {
      const field = fc.oneof(
        fc.string(),
        fc.integer({ min: -1000, max: 1000 }),
        fc.double(),
        fc.constantFrom('ERR_NO_HANDLER', 'ERR_REMOTE_HANDLER', null, true),
        fc.jsonValue(),
      );
      const wireLike = fc
        .record(
          {
            code: field,
            name: field,
            message: field,
            remoteCode: field,
            status: fc.oneof(field, fc.integer({ min: 100, max: 599 })),
            response: fc.jsonValue(),
            stack: fc.string(),
          },
          { requiredKeys: [] },
        )
        .map(o => Buffer.from(JSON.stringify(o)));
      const body = fc.oneof(
        wireLike,
        fc.jsonValue().map(v => Buffer.from(JSON.stringify(v) ?? '')),
        fc.uint8Array({ maxLength: 512 }).map(b => Buffer.from(b)),
        fc.string().map(s => Buffer.from(s)),
      );
      fc.assert(
        fc.property(body, bytes => {
          const error = parseWireError(B, 'topic', bytes);
          expect(error).toBeInstanceOf(RemoteError);
          expect(['ERR_REMOTE_HANDLER', 'ERR_NO_HANDLER']).toContain(error.code);
          expect(error.node).toBe(B);
          expect(error.topic).toBe('topic');
          expect(typeof error.remoteName).toBe('string');
          expect(error.remoteName.length).toBeLessThanOrEqual(256);
          expect(typeof error.remoteMessage).toBe('string');
          expect(error.remoteMessage.length).toBeLessThanOrEqual(8 * 1024);
          expect(error.remoteCode === undefined || typeof error.remoteCode === 'string').toBe(true);
          expect(typeof error.message).toBe('string');
          if (error.status === undefined) expect(error.response).toBeUndefined();
          else {
            expect(Number.isInteger(error.status)).toBe(true);
            expect(error.status).toBeGreaterThanOrEqual(400);
            expect(error.status).toBeLessThanOrEqual(599);
          }
          expect(error).not.toHaveProperty('remoteStack');
        }),
        PROPERTY,
      );
    });

    it('round-trips any mapped failure within the bounds (property)', () => {
      fc.assert(
        fc.property(
          fc.string(),
          fc.string(),
          fc.integer({ min: 0, max: 1000 }),
          fc.jsonValue(),
          (name, message, status, response) => {
            const error = Object.assign(new Error(message), { name });
            const remote = roundTrip(new MappedHandlerError(error, 'debug', status, response));
            const valid = status >= 400 && status <= 599;
            expect(remote.status).toBe(valid ? status : undefined);
            expect(remote.remoteName).toBe(name.slice(0, 256));
            expect(remote.remoteMessage).toBe(message.slice(0, 8 * 1024));
            // JSON drops -0 and undefined members, as it does for every body.
            if (valid && response !== undefined)
              expect(remote.response).toEqual(
                JSON.parse(JSON.stringify(response), (key, value: unknown) =>
                  key === '__proto__' ? undefined : value,
                ),
              );
            else expect(remote.response).toBeUndefined();
          },
        ),
        PROPERTY,
      );
    });
  });
});
