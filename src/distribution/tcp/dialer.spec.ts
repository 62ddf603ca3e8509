import type { LookupAddress } from 'node:dns';
import { connect, createServer } from 'node:net';
import { addressTarget } from './dialer.js';
import { closedDuringHandshakeError } from './handshake-failure.js';

describe('dialling a name with several addresses', () => {
  it('answers Node every address, and gives each an equal share of a handshake step', async () => {
    const target = addressTarget('pod.example', ['127.0.0.48', '::1'], 5_000);
    expect(target).toMatchObject({
      host: 'pod.example',
      autoSelectFamily: true,
      autoSelectFamilyAttemptTimeout: 2_500,
    });
    const all = await new Promise<LookupAddress[]>((resolve, reject) =>
      target.lookup!('pod.example', { all: true }, (error, addresses) =>
        error ? reject(error) : resolve(addresses as unknown as LookupAddress[]),
      ),
    );
    expect(all).toEqual([
      { address: '127.0.0.48', family: 4 },
      { address: '::1', family: 6 },
    ]);
    // never below Node's own 250 ms, however many addresses
    expect(addressTarget('h', Array(100).fill('127.0.0.1'), 5_000)).toMatchObject({
      autoSelectFamilyAttemptTimeout: 250,
    });
    expect(addressTarget('h', ['127.0.0.1'], 5_000)).toEqual({ host: '127.0.0.1' });
  });

  it('reaches the address that answers when the first one refuses (real sockets)', async () => {
    const server = createServer(socket => socket.end());
    await new Promise<void>(resolve => server.listen(0, '::1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const target = addressTarget('pod.example', ['127.0.0.48', '::1'], 5_000);
      const reached = await new Promise<string>((resolve, reject) => {
        const socket = connect({ ...target, port }, () => {
          resolve(socket.remoteAddress!);
          socket.destroy();
        });
        socket.on('error', reject);
      });
      expect(reached).toBe('::1');
    } finally {
      await new Promise(resolve => server.close(resolve));
    }
  });

  it('says why each address failed when none answers, not an empty message', () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}:4370`), { code: 'ECONNREFUSED' });
    const cause = new AggregateError([refused('127.0.0.48'), refused('::1')], '');
    const error = closedDuringHandshakeError(
      { connected: false, remote: 'pod.example:4370', node: 'a@pod.example' },
      cause,
    );
    expect(error.message).toContain(
      'connect ECONNREFUSED 127.0.0.48:4370; connect ECONNREFUSED ::1:4370',
    );
  });
});
