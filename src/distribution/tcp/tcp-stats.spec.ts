import { HandshakeError, TlsError } from './tcp.errors.js';
import { REFUSAL_REASONS, TcpStats, refusalReason } from './tcp-stats.js';

const handshake = (reason: string, byPeer = false) =>
  new HandshakeError(`refused: ${reason}`, { code: 'ERR_HANDSHAKE_REFUSED', reason, byPeer });
const tls = (reason: ConstructorParameters<typeof TlsError>[1]['reason']) =>
  new TlsError(`tls: ${reason}`, { reason });

describe('refusalReason', () => {
  it.each([
    [handshake('bad-cookie'), 'bad-cookie'],
    [handshake('bad-cookie', true), 'bad-cookie'],
    [handshake('namespace', true), 'namespace'],
    [handshake('not-discovered', true), 'not-discovered'],
    [handshake('timeout'), 'timeout'],
    [handshake('certificate-name'), 'certificate-name'],
    [handshake('a-reason-of-a-newer-peer', true), 'other'],
    [tls('untrusted-certificate'), 'tls-untrusted-certificate'],
    [tls('certificate-name'), 'certificate-name'],
    [tls('tls'), 'tls'],
    [tls('not-tls'), 'tls-not-tls'],
  ])('%s counts as %p', (error, reason) => {
    expect(refusalReason(error)).toBe(reason);
    expect(REFUSAL_REASONS).toContain(reason);
  });

  it.each(['simultaneous', 'already-connected'])('does not count the tie-break %p', reason => {
    expect(refusalReason(handshake(reason))).toBeUndefined();
    expect(refusalReason(handshake(reason, true))).toBeUndefined();
  });
});

describe('TcpStats', () => {
  it('counts refusals by reason, bounded to the known reasons and other', () => {
    const stats = new TcpStats();
    expect(stats.handshakeRefusals()).toEqual({});
    stats.refused(handshake('bad-cookie'));
    stats.refused(handshake('bad-cookie', true));
    stats.refused(handshake('simultaneous'));
    stats.refused('capacity');
    for (let i = 0; i < 1_000; i++) stats.refused(handshake(`made-up-${i}`, true));
    expect(stats.handshakeRefusals()).toEqual({ 'bad-cookie': 2, capacity: 1, other: 1_000 });
    expect(stats.snapshot([])).toEqual({
      links: [],
      handshakeRefusals: { 'bad-cookie': 2, capacity: 1, other: 1_000 },
    });
  });

  it('gives a copy: a later refusal does not change an earlier snapshot', () => {
    const stats = new TcpStats();
    stats.refused(handshake('version'));
    const before = stats.handshakeRefusals();
    stats.refused(handshake('version'));
    expect(before).toEqual({ version: 1 });
    expect(stats.handshakeRefusals()).toEqual({ version: 2 });
  });
});
