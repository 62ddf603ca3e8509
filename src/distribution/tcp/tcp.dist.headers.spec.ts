import { jest } from '@jest/globals';
import type { MessageHeaders } from '../../core/index.js';
import { distContext } from '../../../test/support/dist-context.js';
import { until } from '../../../test/support/wait.js';
import { TcpDist } from './tcp.dist.js';

jest.setTimeout(20_000);

const started: TcpDist[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map(dist => dist.close()));
});

async function start(self: string): Promise<TcpDist> {
  const dist = new TcpDist({ cookie: 'headers-cookie', portMapper: false });
  started.push(dist);
  await dist.init(distContext(self));
  return dist;
}

describe('TcpDist: headers over a real link', () => {
  it('carries an outgoing hook’s headers to the peer’s incoming hook (both announce headers)', async () => {
    const a = await start('a@127.0.0.1');
    const b = await start('b@127.0.0.1');
    await a.connect({ node: 'b@127.0.0.1', port: b.port! }, AbortSignal.timeout(5_000));
    const seen: (MessageHeaders | undefined)[] = [];
    b.messaging.instrument!({
      incoming: (info, headers) => {
        if (!info.internal) seen.push(headers && { ...headers });
        return undefined;
      },
    });
    a.messaging.instrument!({
      outgoing: info =>
        info.internal
          ? undefined
          : {
              headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
              end: () => undefined,
            },
    });
    b.messaging.on('echo', (payload: unknown) => payload);
    await until(() => a.members().length === 1, 5_000, 'a links b');
    await expect(a.messaging.request('b@127.0.0.1', 'echo', 'hi')).resolves.toBe('hi');
    a.messaging.send('b@127.0.0.1', 'echo', 'one-way');
    await until(() => seen.length === 2, 5_000, 'both messages seen by b');
    expect(seen).toEqual([
      { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
      { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
    ]);
  });
});
