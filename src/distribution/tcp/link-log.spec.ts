import { createClusterLogger } from '../../core/index.js';
import { LinkLog } from './link-log.js';
import { HandshakeError, type HandshakeErrorCode, TlsError } from './tcp.errors.js';

function linkLog() {
  const lines: Record<string, unknown>[] = [];
  const logger = createClusterLogger({
    level: 'debug',
    format: 'json',
    write: line => void lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { log: new LinkLog(logger), lines };
}

const refusal = (code: HandshakeErrorCode, reason: string) =>
  new HandshakeError(`refused: ${reason}`, { code, reason, byPeer: false });

describe('LinkLog', () => {
  it('warns about a refused handshake that needs a person, once per source and reason a minute', () => {
    const { log, lines } = linkLog();
    for (let i = 0; i < 3; i++) log.refusal('10.0.0.9', refusal('ERR_BAD_COOKIE', 'bad-cookie'));
    log.refusal('10.0.0.9', refusal('ERR_NAMESPACE_MISMATCH', 'namespace'));
    expect(lines.map(l => l.level)).toEqual(['warn', 'warn']);
    expect(lines[0]).toMatchObject({
      event: 'handshakeRefused',
      peer: '10.0.0.9',
      reason: 'bad-cookie',
      code: 'ERR_BAD_COOKIE',
    });
  });

  it('keeps the refusals of peers stopping, restarting or racing at debug', () => {
    const { log, lines } = linkLog();
    log.refusal('10.0.0.9', refusal('ERR_HANDSHAKE_TIMEOUT', 'timeout'));
    log.refusal('10.0.0.9', refusal('ERR_DUPLICATE_NODE_NAME', 'duplicate-name'));
    log.refusal('10.0.0.9', refusal('ERR_HANDSHAKE_REFUSED', 'stopping'));
    expect(lines.map(l => l.level)).toEqual(['debug', 'debug', 'debug']);
  });

  it('keeps failed dials at debug: the engine reports them', () => {
    const { log, lines } = linkLog();
    log.dialFailure('b@10.0.0.2', refusal('ERR_BAD_COOKIE', 'bad-cookie'));
    log.dialFailure(
      'b@10.0.0.2',
      new TlsError('untrusted', { reason: 'untrusted-certificate', peer: 'b@10.0.0.2' }),
    );
    expect(lines.map(l => `${l.level as string} ${l.reason as string}`)).toEqual([
      'debug bad-cookie',
      'debug untrusted-certificate',
    ]);
  });
});
