import { type DiscoveryStrategy, InvalidConfigError } from '../core/index.js';
import {
  AggregateDiscovery,
  GossipDiscovery,
  HostsFileDiscovery,
  MAX_AGGREGATE_DEPTH,
  StaticDiscovery,
} from '../discovery/index.js';
import { BUILT_IN_STRATEGY_NAMES, createDiscovery } from './built-in-strategies.js';

const childrenOf = (strategy: DiscoveryStrategy) => (strategy as AggregateDiscovery).children;

describe('createDiscovery: the strategies of issue 17', () => {
  it('knows gossip, hosts and aggregate by name', () => {
    expect(BUILT_IN_STRATEGY_NAMES.discovery).toEqual(
      expect.arrayContaining(['gossip', 'hosts', 'aggregate']),
    );
    expect(createDiscovery({ strategy: 'gossip', interface: '127.0.0.1' })).toBeInstanceOf(
      GossipDiscovery,
    );
    expect(createDiscovery('gossip:239.1.2.3:45000')).toBeInstanceOf(GossipDiscovery);
    expect(() => createDiscovery({ strategy: 'gossip', group: '10.0.0.1' } as never)).toThrow(
      InvalidConfigError,
    );
    expect(createDiscovery({ strategy: 'hosts', file: '/etc/gc.hosts' })).toBeInstanceOf(
      HostsFileDiscovery,
    );
    expect(createDiscovery('hosts:/etc/gc.hosts')).toBeInstanceOf(HostsFileDiscovery);
  });

  it('builds etcd through its lazy factory, checking the options at once', () => {
    const etcd = createDiscovery('etcd:http://127.0.0.1:2379/gc');
    expect(etcd.name).toBe('etcd');
    // not the class: that is loaded at init, from the ./etcd entry's module
    expect(etcd.constructor).toBe(Object);
    expect(BUILT_IN_STRATEGY_NAMES.discovery).toContain('etcd');
    const bad = () =>
      createDiscovery({ strategy: 'etcd', endpoints: ['http://h:2379'], leaseTtlSeconds: 1 });
    expect(bad).toThrow(InvalidConfigError);
    expect(bad).toThrow(/discovery \(etcd\)\.leaseTtlSeconds/);
    expect(() =>
      createDiscovery({
        strategy: 'etcd',
        endpoints: ['http://h:2379'],
        username: 'gc',
        passwordFile: '/nonexistent/etcd-password',
      }),
    ).toThrow(InvalidConfigError);
  });

  it('builds an aggregate of options, short forms and instances, in order', () => {
    const custom: DiscoveryStrategy = { name: 'custom', peers: () => [] };
    const aggregate = createDiscovery({
      strategy: 'aggregate',
      of: [
        { strategy: 'static', nodes: ['a@10.0.0.1'] },
        'hosts:/etc/gc.hosts',
        custom,
        { strategy: 'aggregate', of: ['static:b@10.0.0.2'] },
      ],
    });
    expect(aggregate).toBeInstanceOf(AggregateDiscovery);
    const [first, second, third, fourth] = childrenOf(aggregate);
    expect(first).toBeInstanceOf(StaticDiscovery);
    expect(second).toBeInstanceOf(HostsFileDiscovery);
    expect(third).toBe(custom);
    expect(childrenOf(fourth!)[0]).toBeInstanceOf(StaticDiscovery);
  });

  it("passes the aggregate's childTimeoutMs on, and the default without it", () => {
    const timed = createDiscovery({ strategy: 'aggregate', of: ['gossip'], childTimeoutMs: 1234 });
    expect((timed as AggregateDiscovery).childTimeoutMs).toBe(1234);
    const plain = createDiscovery({ strategy: 'aggregate', of: ['gossip'] });
    expect((plain as AggregateDiscovery).childTimeoutMs).toBe(5_000);
  });

  it('builds the | short form as an aggregate', () => {
    const aggregate = createDiscovery('static:a@10.0.0.1|hosts:/x');
    expect(childrenOf(aggregate).map(c => c.name)).toEqual(['static', 'hosts']);
  });

  it(`refuses aggregates nested more than ${MAX_AGGREGATE_DEPTH} deep before building them`, () => {
    let option: unknown = 'static:a@10.0.0.1';
    for (let depth = 1; depth <= MAX_AGGREGATE_DEPTH; depth++)
      option = { strategy: 'aggregate', of: [option] };
    expect(createDiscovery(option as never)).toBeInstanceOf(AggregateDiscovery);
    // deep enough to overflow the stack if it were built before the check
    for (let depth = 0; depth < 20_000; depth++) option = { strategy: 'aggregate', of: [option] };
    const build = () => createDiscovery(option as never);
    expect(build).toThrow(InvalidConfigError);
    expect(build).toThrow(/nested more than 4 deep/);
  });

  it.each([
    [{ strategy: 'aggregate' }, /"of" must be an array/],
    [{ strategy: 'aggregate', of: 'gossip' }, /"of" must be an array/],
    [{ strategy: 'aggregate', of: [] }, /"of" names no strategy/],
    [
      { strategy: 'aggregate', of: ['static:a@h'], children: [] },
      /discovery \(aggregate\)\.children/,
    ],
    [{ strategy: 'aggregate', of: ['nope'] }, /not a discovery short form/],
    [
      { strategy: 'aggregate', of: [{ strategy: 'consul' }] },
      /Unknown discovery strategy "consul"/,
    ],
    [{ strategy: 'aggregate', of: [{ strategy: 'hosts' }] }, /file/],
  ])('refuses %j, naming what is wrong', (option, message) => {
    const build = () => createDiscovery(option as never);
    expect(build).toThrow(InvalidConfigError);
    expect(build).toThrow(message);
  });
});
