import type { DiscoveryStrategy } from '../core/index.js';
import { CliDiscovery, MAX_LEARNED_PEERS } from './cli-discovery.js';

const SELF = 'gen-cluster-cli-1@127.0.0.1';

async function discovery(): Promise<CliDiscovery> {
  const inner: DiscoveryStrategy = { name: 'static', peers: () => Promise.resolve([]) };
  const cli = new CliDiscovery(inner);
  await cli.init({ self: SELF } as Parameters<CliDiscovery['init']>[0]);
  return cli;
}

describe('CliDiscovery.learn (a node told of these peers)', () => {
  it('learns nothing from an answer that is not a list', async () => {
    const cli = await discovery();
    for (const peers of [undefined, null, 'a@h', 5, { node: 'a@h' }])
      expect(cli.learn(peers)).toBe(0);
    expect(cli.learnedNames()).toEqual([]);
  });

  it('skips the entries that are not peers, keeps the others without their meta', async () => {
    const cli = await discovery();
    const added = cli.learn([
      null,
      5,
      { node: 'not a name' },
      { node: 'b@127.0.0.1', port: 99_999 },
      { node: SELF },
      { node: 'c@127.0.0.1', port: 4370, meta: { big: 'x'.repeat(1000) } },
      'd@127.0.0.1',
    ]);
    expect(added).toBe(2);
    expect(cli.learnedNames()).toEqual(['c@127.0.0.1', 'd@127.0.0.1']);
    const peers = await cli.peers(AbortSignal.timeout(1_000));
    expect(peers).toEqual([{ node: 'c@127.0.0.1', port: 4370 }, { node: 'd@127.0.0.1' }]);
  });

  it(`stops learning after ${MAX_LEARNED_PEERS} peers (50,000 made-up ones are not all dialled)`, async () => {
    const cli = await discovery();
    const fake = Array.from({ length: 50_000 }, (_, i) => ({ node: `f${i}@127.0.0.1`, port: 1 }));
    expect(cli.learn(fake)).toBe(MAX_LEARNED_PEERS);
    expect(cli.learn([{ node: 'late@127.0.0.1' }])).toBe(0);
    expect((await cli.peers(AbortSignal.timeout(1_000))).length).toBe(MAX_LEARNED_PEERS);
  });
});
