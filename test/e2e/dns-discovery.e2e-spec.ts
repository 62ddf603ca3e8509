import {
  DiscoveryError,
  type ClusterLogger,
  type DiscoveryContext,
  type Peer,
} from '../../src/core/index.js';
import { DnsDiscovery, type DnsDiscoveryOptions } from '../../src/discovery/index.js';
import { Dnsmasq } from '../support/dnsmasq.js';

/**
 * The `dns` discovery against a real DNS server (dnsmasq on a loopback port, see
 * test/support/dnsmasq.ts), the way Kubernetes serves a headless Service: one A/AAAA record per
 * pod, or SRV records naming each pod and its port.
 */

const SVC = 'my-svc.my-ns.svc.cluster.local';
const SRV = `_dist._tcp.${SVC}`;
const SELF = 'app@10.244.0.5';

let dns: Dnsmasq;
let debug: string[] = [];

const logger: ClusterLogger = {
  debug: m => debug.push(m),
  log: () => undefined,
  warn: m => {
    throw new Error(`the dns discovery must not warn (the cluster does): ${m}`);
  },
  error: m => {
    throw new Error(`the dns discovery must not log errors: ${m}`);
  },
};

/** A discovery pointed at `server` (the shared dnsmasq by default), initialised as node SELF. */
function discovery(
  options: Partial<DnsDiscoveryOptions> = {},
  server: Dnsmasq = dns,
  self = SELF,
): DnsDiscovery {
  const d = new DnsDiscovery({
    strategy: 'dns',
    domain: SVC,
    servers: server.servers.slice(0, 1),
    ...options,
  });
  const context: DiscoveryContext = { self, logger, requestRefresh: () => undefined };
  d.init(context);
  return d;
}

const ask = (d: DnsDiscovery, signal = new AbortController().signal) => d.peers(signal);
const nodes = (peers: readonly Peer[]) => peers.map(p => p.node).sort();

/** The error `promise` rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the lookup to fail, but it answered');
}

beforeAll(async () => {
  dns = await Dnsmasq.start({}, { listen: ['127.0.0.1', '::1'] });
});
afterAll(async () => {
  await dns?.stop();
});
beforeEach(() => {
  debug = [];
});

describe('A and AAAA records', () => {
  it('gives one peer per A record, named with this node’s name part, without a port, and not self', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.5', '10.244.0.6', '10.244.0.7'] } });
    const peers = await ask(discovery());
    expect(peers).toEqual(
      expect.arrayContaining([{ node: 'app@10.244.0.6' }, { node: 'app@10.244.0.7' }]),
    );
    expect(peers).toHaveLength(2);
    expect(peers.every(p => p.port === undefined)).toBe(true);
  });

  it('uses the nodeName option for the name part when given', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.6'] } });
    expect(nodes(await ask(discovery({ nodeName: 'worker' })))).toEqual(['worker@10.244.0.6']);
  });

  it('asks AAAA with ipv6: true and writes IPv6 hosts canonically (RFC 5952)', async () => {
    await dns.setRecords({
      a: { [SVC]: ['10.244.0.6'] },
      aaaa: { [SVC]: ['FD00:0:0:0:0:0:0:A', '2001:0db8:0000:0001:0000:0000:0000:0001'] },
    });
    expect(nodes(await ask(discovery({ ipv6: true })))).toEqual([
      'app@2001:db8:0:1::1',
      'app@fd00::a',
    ]);
  });

  it('answers [] with ipv6: true when the name has only A records (NODATA)', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.6'] } });
    expect(await ask(discovery({ ipv6: true }))).toEqual([]);
  });

  it('with ipv6: "auto" takes the A records when there is no AAAA record', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.6', '10.244.0.7'] } });
    expect(nodes(await ask(discovery({ ipv6: 'auto' })))).toEqual([
      'app@10.244.0.6',
      'app@10.244.0.7',
    ]);
  });

  it('with ipv6: "auto" takes the AAAA records when there is no A record', async () => {
    await dns.setRecords({ aaaa: { [SVC]: ['fd00::6', 'fd00::7'] } });
    expect(nodes(await ask(discovery({ ipv6: 'auto' })))).toEqual(['app@fd00::6', 'app@fd00::7']);
  });

  it('with ipv6: "auto" takes both families when both are there', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.6'] }, aaaa: { [SVC]: ['fd00::6'] } });
    expect(nodes(await ask(discovery({ ipv6: 'auto' })))).toEqual([
      'app@10.244.0.6',
      'app@fd00::6',
    ]);
  });

  it('answers [] for a name that does not exist (NXDOMAIN)', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.6'] } });
    expect(await ask(discovery({ domain: 'nobody.my-ns.svc.cluster.local' }))).toEqual([]);
    expect(await ask(discovery({ domain: 'nobody.example', ipv6: 'auto' }))).toEqual([]);
  });

  it('answers [] for a name with other records but no address (NODATA)', async () => {
    await dns.setRecords({
      srv: { [SVC]: [{ target: 'pod-a.example', port: 4370 }] },
      txt: { [SVC]: ['not-an-address'] },
    });
    expect(await ask(discovery())).toEqual([]);
    expect(await ask(discovery({ ipv6: 'auto' }))).toEqual([]);
  });

  it('follows the records from one lookup to the next (scale up, then down)', async () => {
    const d = discovery();
    await dns.setRecords({ a: { [SVC]: ['10.244.0.5', '10.244.0.6'] } });
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
    await dns.setRecords({
      a: { [SVC]: ['10.244.0.5', '10.244.0.6', '10.244.0.7', '10.244.0.8'] },
    });
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6', 'app@10.244.0.7', 'app@10.244.0.8']);
    await dns.setRecords({ a: { [SVC]: ['10.244.0.5', '10.244.0.8'] } });
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.8']);
    await dns.setRecords({ a: { [SVC]: ['10.244.0.5'] } });
    expect(await ask(d)).toEqual([]);
  });

  it('reads all 300 records of an answer too large for UDP (retried over TCP)', async () => {
    const addresses = Array.from({ length: 300 }, (_, i) => `10.1.${i >> 8}.${i & 0xff}`);
    await dns.setRecords({ a: { [SVC]: addresses } });
    // The server does truncate this answer over UDP: the resolver had to ask again over TCP.
    expect(await dns.udpQuery(SVC, 'A')).toMatchObject({ truncated: true, rcode: 0 });
    const peers = await ask(discovery());
    expect(peers).toHaveLength(300);
    expect(new Set(nodes(peers))).toEqual(new Set(addresses.map(a => `app@${a}`)));
  });

  it('asks the server over IPv6 when it is given as an IPv6 address', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.6'] } });
    const d = discovery({ servers: [{ host: '::1', port: dns.port }] });
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
  });
});

describe('hostType "hostname" with A/AAAA records (reverse lookups)', () => {
  it('names each peer by the PTR record of its address, lower-cased, and skips an address without one', async () => {
    await dns.setRecords({
      a: { [SVC]: ['10.244.0.6', '10.244.0.7', '10.244.0.8'] },
      aaaa: { [SVC]: ['fd00::9'] },
      ptr: {
        '10.244.0.6': `Pod-B.${SVC}`,
        '10.244.0.7': `pod-c.${SVC}`,
        'fd00::9': `pod-d.${SVC}`,
      },
    });
    const peers = await ask(discovery({ hostType: 'hostname', ipv6: 'auto' }));
    expect(peers.map(p => [p.node, p.meta?.address]).sort()).toEqual([
      [`app@pod-b.${SVC}`, '10.244.0.6'],
      [`app@pod-c.${SVC}`, '10.244.0.7'],
      [`app@pod-d.${SVC}`, 'fd00::9'],
    ]);
    expect(debug.some(m => m.includes('10.244.0.8') && /no PTR/.test(m))).toBe(true);
  });

  it('uses the name each address was registered under, as a pod’s own record gives it', async () => {
    // As in a cluster's DNS: pod-a and pod-b have their own A records (which give the PTR
    // records), and the Service name holds both addresses.
    await dns.setRecords({
      a: {
        [`pod-a.${SVC}`]: ['10.244.0.6'],
        [`pod-b.${SVC}`]: ['10.244.0.7'],
        [SVC]: ['10.244.0.6', '10.244.0.7'],
      },
    });
    expect(nodes(await ask(discovery({ hostType: 'hostname' })))).toEqual([
      `app@pod-a.${SVC}`,
      `app@pod-b.${SVC}`,
    ]);
  });

  it('fails (rather than skipping the address) when a reverse lookup answers SERVFAIL', async () => {
    await dns.setRecords({
      a: { [SVC]: ['10.9.0.1'] },
      ptr: {},
      servfail: ['9.10.in-addr.arpa'],
    });
    const error = await failure(ask(discovery({ hostType: 'hostname' })));
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error.message).toMatch(/PTR lookup of "1\.0\.9\.10\.in-addr\.arpa".*SERVFAIL/);
  });
});

describe('SRV records', () => {
  const pods = ['a', 'b', 'c'].map(p => `pod-${p}.${SVC}`);

  it('gives one peer per record with hostType "hostname": the target as host, its port, priority and weight', async () => {
    await dns.setRecords({
      srv: {
        [SRV]: [
          { target: pods[0]!, port: 4370, priority: 10, weight: 50 },
          { target: pods[1]!, port: 4371, priority: 10, weight: 30 },
          { target: pods[2]!, port: 4372, priority: 20, weight: 0 },
        ],
      },
    });
    const peers = await ask(discovery({ recordType: 'srv', domain: SRV }));
    expect([...peers].sort((x, y) => x.node.localeCompare(y.node))).toEqual([
      { node: `app@${pods[0]}`, port: 4370, meta: { priority: 10, weight: 50 } },
      { node: `app@${pods[1]}`, port: 4371, meta: { priority: 10, weight: 30 } },
      { node: `app@${pods[2]}`, port: 4372, meta: { priority: 20, weight: 0 } },
    ]);
  });

  it('resolves each target to its address through the same server with hostType "ip"', async () => {
    await dns.setRecords({
      srv: {
        [SRV]: [
          { target: pods[0]!, port: 4370, priority: 1, weight: 1 },
          { target: pods[1]!, port: 4371 },
          { target: pods[2]!, port: 4372 },
        ],
      },
      a: { [pods[0]!]: ['10.244.0.6'], [pods[1]!]: ['10.244.0.7'] },
    });
    const peers = await ask(discovery({ recordType: 'srv', domain: SRV, hostType: 'ip' }));
    expect([...peers].sort((x, y) => x.node.localeCompare(y.node))).toEqual([
      { node: 'app@10.244.0.6', port: 4370, meta: { priority: 1, weight: 1, target: pods[0] } },
      { node: 'app@10.244.0.7', port: 4371, meta: { priority: 0, weight: 0, target: pods[1] } },
    ]);
    // pod-c has no address: skipped (logged), not a crash as in gen_cluster.
    expect(debug.some(m => m.includes(pods[2]!))).toBe(true);
  });

  it('resolves targets to AAAA addresses with ipv6: true', async () => {
    await dns.setRecords({
      srv: { [SRV]: [{ target: pods[0]!, port: 4370 }] },
      a: { [pods[0]!]: ['10.244.0.6'] },
      aaaa: { [pods[0]!]: ['fd00:0::6'] },
    });
    const peers = await ask(
      discovery({ recordType: 'srv', domain: SRV, hostType: 'ip', ipv6: true }),
    );
    expect(peers.map(p => [p.node, p.port])).toEqual([['app@fd00::6', 4370]]);
  });

  it('answers [] for an SRV name that does not exist, or that has only other records', async () => {
    await dns.setRecords({ a: { [SRV]: ['10.244.0.6'] } });
    expect(await ask(discovery({ recordType: 'srv', domain: `_x._tcp.${SVC}` }))).toEqual([]);
    expect(await ask(discovery({ recordType: 'srv', domain: SRV }))).toEqual([]);
  });

  it('fails when a target’s address lookup fails, naming the target', async () => {
    await dns.setRecords({
      srv: { [SRV]: [{ target: 'pod-a.broken.example', port: 4370 }] },
      servfail: ['broken.example'],
    });
    const error = await failure(ask(discovery({ recordType: 'srv', domain: SRV, hostType: 'ip' })));
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error.message).toContain('"pod-a.broken.example"');
    expect(error.message).toContain(`target of SRV "${SRV}"`);
  });
});

describe('failed lookups are errors, not empty answers', () => {
  it('throws on SERVFAIL, naming the record type, the name asked and the code', async () => {
    await dns.setRecords({ servfail: ['broken.example'] });
    for (const [options, type] of [
      [{ domain: 'my-svc.broken.example' }, 'A'],
      [{ domain: 'my-svc.broken.example', ipv6: true }, 'AAAA'],
      [{ domain: '_dist._tcp.my-svc.broken.example', recordType: 'srv' }, 'SRV'],
    ] as const) {
      const error = await failure(ask(discovery(options)));
      expect(error).toBeInstanceOf(DiscoveryError);
      expect((error as DiscoveryError).code).toBe('ERR_DISCOVERY_FAILED');
      expect(error.message).toContain(`${type} lookup of "${options.domain}"`);
      expect(error.message).toContain('SERVFAIL (ESERVFAIL)');
    }
  });

  it('throws quickly when the server is down (connection refused), and answers again once it is back', async () => {
    const own = await Dnsmasq.start({ a: { [SVC]: ['10.244.0.6'] } });
    try {
      const d = discovery({ lookupTimeoutMs: 200, attempts: 1 }, own);
      expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
      await own.stop();
      const started = performance.now();
      const error = await failure(ask(d));
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(error).toBeInstanceOf(DiscoveryError);
      expect(error.message).toContain(`A lookup of "${SVC}"`);
      expect(error.message).toMatch(/ECONNREFUSED|ETIMEOUT/);
      expect(error.message).toContain(`127.0.0.1:${own.port}`);
      await own.restart();
      expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
    } finally {
      await own.stop();
    }
  });

  it('throws a timeout when the server does not answer, within lookupTimeoutMs and attempts', async () => {
    const own = await Dnsmasq.start({ a: { [SVC]: ['10.244.0.6'] } });
    try {
      own.pause();
      const started = performance.now();
      const error = await failure(ask(discovery({ lookupTimeoutMs: 200, attempts: 2 }, own)));
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(DiscoveryError);
      expect(error.message).toContain(`A lookup of "${SVC}"`);
      expect(error.message).toContain('ETIMEOUT');
    } finally {
      await own.stop();
    }
  });

  it('cancels the lookup at once when the signal aborts', async () => {
    const own = await Dnsmasq.start({ a: { [SVC]: ['10.244.0.6'] } });
    try {
      own.pause();
      const controller = new AbortController();
      const reason = new Error('cluster stopping');
      const pending = ask(
        discovery({ lookupTimeoutMs: 20_000, attempts: 3 }, own),
        controller.signal,
      );
      const started = performance.now();
      setTimeout(() => controller.abort(reason), 50);
      expect(await failure(pending)).toBe(reason);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      await own.stop();
    }
  });
});

describe('search list', () => {
  it('tries a short name with each search domain first, as the system resolver does', async () => {
    await dns.setRecords({ a: { [SVC]: ['10.244.0.6'] } });
    const before = dns.queries().length;
    const d = discovery({
      domain: 'my-svc.my-ns',
      search: ['other.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 5,
    });
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
    expect(
      dns
        .queries()
        .slice(before)
        .map(q => q.name),
    ).toEqual(['my-svc.my-ns.other.svc.cluster.local', SVC]);
  });

  it('asks a name with enough dots, or ending in ".", as is first', async () => {
    await dns.setRecords({ a: { 'my-svc.my-ns': ['10.244.0.7'] } });
    const search = { search: ['svc.cluster.local'], ndots: 1 };
    expect(nodes(await ask(discovery({ domain: 'my-svc.my-ns', ...search })))).toEqual([
      'app@10.244.0.7',
    ]);
    const before = dns.queries().length;
    expect(await ask(discovery({ domain: 'nothing.', ...search, ndots: 5 }))).toEqual([]);
    expect(
      dns
        .queries()
        .slice(before)
        .map(q => q.name),
    ).toEqual(['nothing']);
  });
});
