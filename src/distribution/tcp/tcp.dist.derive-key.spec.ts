import { hkdfSync } from 'node:crypto';
import { TcpDist } from './tcp.dist.js';

describe('TcpDist.deriveKey', () => {
  it('derives 32 bytes per label from the cookie (HKDF-SHA256), never the cookie itself', () => {
    const dist = new TcpDist({ cookie: 'secret-cookie' });
    const gossip = dist.deriveKey('gen-cluster gossip v1');
    expect(gossip).toHaveLength(32);
    expect(gossip).toEqual(
      Buffer.from(
        hkdfSync('sha256', 'secret-cookie', Buffer.alloc(0), 'gen-cluster gossip v1', 32),
      ),
    );
    expect(dist.deriveKey('gen-cluster gossip v1')).toEqual(gossip);
    expect(dist.deriveKey('another purpose')).not.toEqual(gossip);
    expect(gossip.includes(Buffer.from('secret-cookie'))).toBe(false);
  });

  it('gives another key for another cookie', () => {
    const a = new TcpDist({ cookie: 'a' }).deriveKey('x');
    const b = new TcpDist({ cookie: 'b' }).deriveKey('x');
    expect(a).not.toEqual(b);
  });
});
