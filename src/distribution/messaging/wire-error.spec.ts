import { A, B, C, MemoryNetwork, rejection } from '../../../test/support/messaging-harness.js';
import { EnvelopeKind } from './envelope.js';
import { RemoteError } from './messaging.errors.js';
import { type PayloadCodec, createPayloadCodec } from './payload-codec.js';
import { encodeWireError, handlerFailure, noHandlerFailure, parseWireError } from './wire-error.js';

describe('errors to and from the wire', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  describe('remote handler failures', () => {
    it('gives RemoteError with the remote name, message and code when the handler throws', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('sync', () => {
        throw Object.assign(new TypeError('bad input'), { code: 'E_BAD_INPUT' });
      });
      b.on('async', async () => {
        throw new RangeError('out of range');
      });
      b.on('string', () => {
        throw 'plain string';
      });
      const sync = await rejection(a.request(B, 'sync', 1));
      expect(sync).toBeInstanceOf(RemoteError);
      expect(sync).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        node: B,
        topic: 'sync',
        remoteName: 'TypeError',
        remoteMessage: 'bad input',
        remoteCode: 'E_BAD_INPUT',
      });
      expect(sync.message).toContain('bad input');
      expect(sync.message).toContain('E_BAD_INPUT');
      expect(sync).not.toHaveProperty('remoteStack');
      // Only name, message and code cross the wire, never the remote stack.
      const wire = net.sent.find(s => s.envelope.kind === EnvelopeKind.ErrorResponse)!;
      expect(JSON.parse(wire.envelope.body.toString())).toEqual({
        code: 'ERR_REMOTE_HANDLER',
        name: 'TypeError',
        message: 'bad input',
        remoteCode: 'E_BAD_INPUT',
      });
      const async = await rejection(a.request(B, 'async', 1));
      expect(async).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'RangeError',
        remoteMessage: 'out of range',
        remoteCode: undefined,
      });
      const text = await rejection(a.request(B, 'string', 1));
      expect(text).toMatchObject({ code: 'ERR_REMOTE_HANDLER', remoteMessage: 'plain string' });
    });

    it('gives RemoteError ERR_NO_HANDLER for a topic without handler', async () => {
      const a = net.add(A);
      net.add(B);
      const error = await rejection(a.request(B, 'nobody', 1));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({ code: 'ERR_NO_HANDLER', node: B, topic: 'nobody' });
      expect(error.message).toContain('"nobody"');
    });

    it('answers with an error when the request cannot be decoded or the answer encoded', async () => {
      const garbage: PayloadCodec = {
        name: 'garbage',
        encode: () => Buffer.from([0xc1]),
        decode: bytes => createPayloadCodec().decode(bytes),
      };
      const a = net.add(A, { codec: garbage });
      const b = net.add(B);
      b.on('echo', payload => payload);
      b.on('fn', () => () => 1);
      const undecodable = await rejection(a.request(B, 'echo', 1));
      expect(undecodable).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'PayloadError',
        remoteCode: 'ERR_PAYLOAD_DECODE',
      });
      const a2 = net.add(C);
      const unencodable = await rejection(a2.request(B, 'fn', 1));
      expect(unencodable).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'PayloadError',
        remoteCode: 'ERR_PAYLOAD_ENCODE',
      });
    });
  });
  describe('wire form', () => {
    it('round-trips a handler failure and a missing handler through the wire form', () => {
      const failure = handlerFailure(Object.assign(new TypeError('bad'), { code: 42 }));
      expect(failure).toEqual({
        code: 'ERR_REMOTE_HANDLER',
        name: 'TypeError',
        message: 'bad',
        remoteCode: '42',
      });
      const remote = parseWireError(B, 'sum', encodeWireError(failure));
      expect(remote).toBeInstanceOf(RemoteError);
      expect(remote).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        node: B,
        topic: 'sum',
        remoteName: 'TypeError',
        remoteMessage: 'bad',
        remoteCode: '42',
      });
      const missing = parseWireError(B, 'sum', encodeWireError(noHandlerFailure(B, 'sum')));
      expect(missing).toMatchObject({ code: 'ERR_NO_HANDLER', node: B, topic: 'sum' });
      expect(missing.message).toContain('"sum"');
    });

    it('bounds what crosses, and makes a RemoteError of any body', () => {
      const long = handlerFailure(new Error('x'.repeat(100_000)));
      expect(long.message.length).toBe(8 * 1024);
      for (const body of ['', 'not json', '[1]', 'null', '{"code":"ERR_OTHER","name":7}']) {
        const error = parseWireError(B, 't', Buffer.from(body));
        expect(error).toBeInstanceOf(RemoteError);
        expect(error).toMatchObject({ code: 'ERR_REMOTE_HANDLER', remoteName: 'Error' });
      }
    });

    it('renders a thrown value that is not an Error, even one that cannot be printed', () => {
      expect(handlerFailure({ reason: 'no' })).toMatchObject({ message: '{"reason":"no"}' });
      const hostile = {
        get name(): string {
          throw new Error('no name');
        },
      };
      expect(handlerFailure(hostile)).toMatchObject({ message: 'unprintable error' });
    });
  });
});
