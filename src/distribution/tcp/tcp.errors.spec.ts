import { GenClusterError } from '../../core/index.js';
import { FrameError, HandshakeError, ProtocolError, TlsError } from './tcp.errors.js';

describe('TCP dist errors', () => {
  const cause = new Error('underneath');

  it('build every class from a catalog message and one details object', () => {
    const frame = new FrameError('bad frame', { code: 'ERR_FRAME_TOO_LARGE', cause });
    const protocol = new ProtocolError('bad peer', { cause });
    const handshake = new HandshakeError('refused', {
      code: 'ERR_BAD_COOKIE',
      reason: 'bad-cookie',
      peer: 'b@h',
      byPeer: true,
      cause,
    });
    const tls = new TlsError('tls failed', { reason: 'timeout', peer: 'b@h', cause });
    for (const error of [frame, protocol, handshake, tls]) {
      expect(error).toBeInstanceOf(GenClusterError);
      expect(error.cause).toBe(cause);
      expect(error.name).toBe(error.constructor.name);
    }
    expect([frame.code, protocol.code, handshake.code, tls.code]).toEqual([
      'ERR_FRAME_TOO_LARGE',
      'ERR_PROTOCOL',
      'ERR_BAD_COOKIE',
      'ERR_TLS_HANDSHAKE',
    ]);
    expect(handshake).toMatchObject({ message: 'refused', reason: 'bad-cookie', peer: 'b@h' });
    expect(handshake.byPeer).toBe(true);
    expect(tls).toMatchObject({ reason: 'timeout', peer: 'b@h' });
  });

  it('gives a TLS certificate-name failure its own code', () => {
    expect(new TlsError('names', { reason: 'certificate-name' }).code).toBe('ERR_TLS_CERT_NAME');
  });

  it('leaves cause unset when none is given', () => {
    expect('cause' in new ProtocolError('x')).toBe(false);
  });
});
