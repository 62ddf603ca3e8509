import { DiscoveryError } from '../../core/index.js';
import {
  type Endpoint,
  type EndpointSlice,
  type PeerRules,
  slicesToPeers,
} from './endpoint-slice.js';

describe('slicesToPeers', () => {
  const rules = (over: Partial<PeerRules> = {}): PeerRules => ({
    nodeName: 'app',
    hostType: 'ip',
    includeNotReady: true,
    excludeTerminating: true,
    addressType: 'any',
    portName: undefined,
    namespace: 'my-ns',
    clusterDomain: 'cluster.local',
    subdomain: undefined,
    service: 'my-svc',
    ...over,
  });
  const slice = (
    endpoints: Endpoint[],
    over: Partial<EndpointSlice> = {},
    name = 'my-svc-1',
  ): EndpointSlice => ({
    metadata: { name, namespace: 'my-ns', labels: { 'kubernetes.io/service-name': 'my-svc' } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: 'dist', port: 39135, protocol: 'TCP' }],
    ...over,
  });
  const nodes = (s: EndpointSlice[], r = rules()) => slicesToPeers(s, r).peers.map(p => p.node);

  it('reads an unknown (null or absent) condition as ready and not terminating', () => {
    const s = slice([
      { addresses: ['10.0.0.2'], conditions: { ready: null, terminating: null } },
      { addresses: ['10.0.0.3'] },
      { addresses: ['10.0.0.4'], conditions: null },
    ]);
    expect(nodes([s], rules({ includeNotReady: false }))).toEqual([
      'app@10.0.0.2',
      'app@10.0.0.3',
      'app@10.0.0.4',
    ]);
  });

  it('uses the first address of an endpoint, sorts, and drops duplicates across slices', () => {
    const a = slice([{ addresses: ['10.0.0.3', '10.0.0.9'] }, { addresses: ['10.0.0.2'] }]);
    const b = slice([{ addresses: ['10.0.0.2'] }], {}, 'my-svc-2');
    expect(nodes([a, b])).toEqual(['app@10.0.0.2', 'app@10.0.0.3']);
  });

  it('takes both families of a dual-stack Service with "any", one with "IPv4"/"IPv6"', () => {
    const v4 = slice([{ addresses: ['10.0.0.2'] }]);
    const v6 = slice([{ addresses: ['fd00::2'] }], { addressType: 'IPv6' }, 'my-svc-v6');
    expect(nodes([v4, v6])).toEqual(['app@10.0.0.2', 'app@fd00::2']);
    expect(nodes([v4, v6], rules({ addressType: 'IPv6' }))).toEqual(['app@fd00::2']);
    expect(nodes([v4, v6], rules({ addressType: 'IPv4' }))).toEqual(['app@10.0.0.2']);
  });

  it('gives one peer per pod in hostname mode, whatever the families', () => {
    const ref = { kind: 'Pod', name: 'pod-a' };
    const v4 = slice([{ addresses: ['10.0.0.2'], targetRef: ref }]);
    const v6 = slice([{ addresses: ['fd00::2'], targetRef: ref }], { addressType: 'IPv6' }, 'v6');
    expect(nodes([v4, v6], rules({ hostType: 'hostname' }))).toEqual([
      'app@pod-a.my-svc.my-ns.svc.cluster.local',
    ]);
    expect(nodes([v4], rules({ hostType: 'hostname', subdomain: 'headless' }))).toEqual([
      'app@pod-a.headless.my-ns.svc.cluster.local',
    ]);
  });

  it('skips FQDN slices and endpoints without a usable address', () => {
    const fqdn = slice([{ addresses: ['db.example.com'] }], { addressType: 'FQDN' }, 'fqdn');
    const odd = slice([
      { addresses: [] },
      { addresses: ['not-an-ip'] },
      { addresses: ['10.0.0.2'] },
    ]);
    const result = slicesToPeers([fqdn, odd], rules());
    expect(result.peers.map(p => p.node)).toEqual(['app@10.0.0.2']);
    expect(result.skipped).toHaveLength(3);
  });

  it('puts the named port on peers, the first port without portName, none for null ports', () => {
    const ports = [
      { name: 'http', port: 8080 },
      { name: 'dist', port: 4370 },
    ];
    const s = slice([{ addresses: ['10.0.0.2'] }], { ports });
    expect(slicesToPeers([s], rules()).peers[0]!.port).toBe(8080);
    expect(slicesToPeers([s], rules({ portName: 'dist' })).peers[0]!.port).toBe(4370);
    const none = slice([{ addresses: ['10.0.0.2'] }], { ports: null });
    expect(slicesToPeers([none], rules()).peers[0]!.port).toBeUndefined();
    const all = slice([{ addresses: ['10.0.0.2'] }], { ports: [{ name: '', port: null }] });
    expect(slicesToPeers([all], rules()).peers[0]!.port).toBeUndefined();
  });

  it('fails, naming the ports there are, when a slice with endpoints lacks the named port', () => {
    const s = slice([{ addresses: ['10.0.0.2'] }], { ports: [{ name: 'http', port: 8080 }] });
    expect(() => slicesToPeers([s], rules({ portName: 'dist' }))).toThrow(DiscoveryError);
    expect(() => slicesToPeers([s], rules({ portName: 'dist' }))).toThrow(/"http"/);
    const empty = slice([], { ports: null });
    expect(slicesToPeers([empty], rules({ portName: 'dist' })).peers).toEqual([]);
  });

  it('tolerates endpoints: null and junk entries', () => {
    const s = slice(null as unknown as Endpoint[]);
    const junk = slice([null, 7, { addresses: ['10.0.0.2'] }] as unknown as Endpoint[]);
    expect(nodes([s, junk])).toEqual(['app@10.0.0.2']);
  });
});
