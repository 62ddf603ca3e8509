import { B } from '../../../test/support/messaging-harness.js';
import { isRemoteError } from './is-remote-error.js';
import { MappedHandlerError } from './mapped-handler-error.js';
import { NodeDownError, RemoteError, RequestTimeoutError } from './messaging.errors.js';
import { encodeWireError, handlerFailure, parseWireError } from './wire-error.js';

describe('isRemoteError', () => {
  it('accepts a RemoteError, with a status or without', () => {
    const plain = parseWireError(B, 't', encodeWireError(handlerFailure(new Error('x'))));
    const withStatus = parseWireError(
      B,
      't',
      encodeWireError(handlerFailure(new MappedHandlerError(new Error('x'), 'debug', 404))),
    );
    expect(isRemoteError(plain)).toBe(true);
    expect(isRemoteError(withStatus)).toBe(true);
    expect(
      isRemoteError(
        new RemoteError('m', {
          code: 'ERR_NO_HANDLER',
          node: B,
          topic: 't',
          remoteName: 'Error',
          remoteMessage: '',
        }),
      ),
    ).toBe(true);
  });

  it('accepts an Error of another class that carries the remote fields (as RemoteHttpException)', () => {
    // The Nest layer's RemoteHttpException extends HttpException, not RemoteError.
    class ElsewhereBuilt extends Error {
      readonly code = 'ERR_REMOTE_HANDLER';
      readonly node = B;
      readonly topic = 't';
      readonly remoteName = 'NotFoundException';
      readonly remoteMessage = 'x';
    }
    const error: unknown = new ElsewhereBuilt('x');
    expect(isRemoteError(error)).toBe(true);
    if (isRemoteError(error)) {
      // The guard narrows to the remote fields.
      expect([error.node, error.topic, error.remoteName, error.code]).toEqual([
        B,
        't',
        'NotFoundException',
        'ERR_REMOTE_HANDLER',
      ]);
    }
  });

  it('refuses other errors and values that merely look alike', () => {
    const fields = { code: 'ERR_REMOTE_HANDLER', node: B, topic: 't', remoteName: 'X' };
    expect(isRemoteError(fields)).toBe(false); // not an Error
    expect(isRemoteError(Object.assign(new Error('x'), fields, { code: 'ERR_OTHER' }))).toBe(false);
    expect(isRemoteError(Object.assign(new Error('x'), fields, { node: 7 }))).toBe(false);
    expect(isRemoteError(Object.assign(new Error('x'), fields, { topic: undefined }))).toBe(false);
    expect(isRemoteError(Object.assign(new Error('x'), fields, { remoteName: null }))).toBe(false);
    expect(isRemoteError(new RequestTimeoutError('m', { node: B, topic: 't', timeoutMs: 1 }))).toBe(
      false,
    );
    expect(isRemoteError(new NodeDownError('m', { node: B }))).toBe(false);
    for (const value of [undefined, null, 'ERR_REMOTE_HANDLER', 404, new Error('x')])
      expect(isRemoteError(value)).toBe(false);
  });
});
