import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscoveryError, InvalidConfigError } from '../core/errors.js';
import {
  KUBERNETES_DISCOVERY_DEFAULTS,
  KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
} from './kubernetes.discovery.js';
import { KubernetesMessages } from './kubernetes.messages.js';
import {
  type Endpoint,
  type EndpointSlice,
  type PeerRules,
  slicesToPeers,
} from './kubernetes/endpoint-slice.js';

let dir: string;
let caFile: string;
const ENV = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gen-cluster-k8s-spec-'));
  caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const build = (options: Record<string, unknown>, env: Record<string, string> = ENV) =>
  new KubernetesDiscovery(
    { namespace: 'my-ns', caFile, ...options } as unknown as KubernetesDiscoveryOptions,
    env,
  );

/** The InvalidConfigError that building with `options` throws. */
function configError(
  options: Record<string, unknown>,
  env: Record<string, string> = ENV,
): InvalidConfigError {
  try {
    build(options, env);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).code).toBe('ERR_INVALID_CONFIG');
    return error as InvalidConfigError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be refused`);
}

describe('KubernetesDiscovery options', () => {
  it('fills in the defaults: the in-cluster API server, the service-account files, ip, watch, formation-friendly readiness', () => {
    expect(build({ strategy: 'kubernetes', service: 'my-svc' }).settings).toEqual({
      service: 'my-svc',
      labelSelector: 'kubernetes.io/service-name=my-svc',
      portName: undefined,
      namespace: 'my-ns',
      apiServer: 'https://10.96.0.1',
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      caFile,
      hostType: 'ip',
      subdomain: undefined,
      nodeName: undefined,
      addressType: undefined,
      includeNotReady: true,
      excludeTerminating: true,
      watch: true,
      clusterDomain: 'cluster.local',
      requestTimeoutMs: 5_000,
      tokenReloadIntervalMs: 60_000,
    });
    expect(KUBERNETES_DISCOVERY_DEFAULTS.serviceAccountDir).toBe(
      '/var/run/secrets/kubernetes.io/serviceaccount',
    );
  });

  it('builds the API server URL of an IPv6 KUBERNETES_SERVICE_HOST in brackets', () => {
    const env = { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '6443' };
    expect(build({ service: 'my-svc' }, env).settings.apiServer).toBe(
      'https://[fd00:10:96::1]:6443',
    );
  });

  it('keeps an explicit apiServer (with a path prefix), and needs no environment then', () => {
    const d = build({ service: 'my-svc', apiServer: 'https://api.example:6443/k8s/' }, {});
    expect(d.settings.apiServer).toBe('https://api.example:6443/k8s');
  });

  it('takes a label selector alone, or ANDs it with the Service', () => {
    expect(build({ labelSelector: ' app=web ' }).settings.labelSelector).toBe('app=web');
    expect(build({ service: 'web', labelSelector: 'tier in (a,b)' }).settings.labelSelector).toBe(
      'kubernetes.io/service-name=web,tier in (a,b)',
    );
  });

  it('needs a service or a label selector', () => {
    expect(configError({}).message).toBe(KubernetesMessages.needServiceOrSelector());
  });

  it.each([
    ['service', 'My_Svc'],
    ['service', '1svc'],
    ['labelSelector', ''],
    ['labelSelector', 'a=b\n'],
    ['namespace', 'My-NS'],
    ['portName', 'Dist Port'],
    ['subdomain', 'a.b'],
    ['apiServer', 'http://10.96.0.1'],
    ['apiServer', 'https://user:pw@10.96.0.1'],
    ['apiServer', 'not a url'],
    ['tokenFile', ''],
    ['hostType', 'dns'],
    ['nodeName', 'app@host'],
    ['addressType', 'ipv4'],
    ['includeNotReady', 'yes'],
    ['excludeTerminating', 1],
    ['watch', 'true'],
    ['clusterDomain', '10.0.0.1'],
    ['requestTimeoutMs', 0],
    ['tokenReloadIntervalMs', 1.5],
    ['strategy', 'dns'],
  ])('refuses %s = %p, naming the option', (option, value) => {
    const error = configError({ service: 'my-svc', [option]: value });
    expect(error.message).toContain(`"${option}"`);
  });

  it('refuses an unknown option, listing the known ones', () => {
    const error = configError({ service: 'my-svc', servcie: 'x' });
    expect(error.message).toContain('Unknown kubernetes discovery option "servcie"');
    expect(error.message).toContain('"labelSelector"');
  });

  it('names the namespace file when no namespace is given outside a pod', () => {
    const namespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
    if (existsSync(namespaceFile)) return; // running in a pod: the default works
    const error = configError({ service: 'my-svc', namespace: undefined });
    expect(error.message).toContain('"namespace"');
    expect(error.message).toContain(namespaceFile);
  });

  it('names apiServer and the variables when neither is there', () => {
    const error = configError({ service: 'my-svc' }, {});
    expect(error.message).toContain('"apiServer"');
    expect(error.message).toContain('KUBERNETES_SERVICE_HOST');
  });

  it('names caFile when the CA cannot be read or holds no certificate', () => {
    expect(configError({ service: 'my-svc', caFile: join(dir, 'missing') }).message).toMatch(
      /"caFile".*ENOENT/,
    );
    const empty = join(dir, 'empty.crt');
    writeFileSync(empty, 'nothing');
    expect(configError({ service: 'my-svc', caFile: empty }).message).toContain(
      'no PEM certificate',
    );
  });
});

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

describe('KubernetesMessages.forbidden', () => {
  it('says what to grant even when the ServiceAccount is unknown', () => {
    const text = KubernetesMessages.forbidden('list', 'ns', undefined, undefined);
    expect(text).toContain("This pod's ServiceAccount needs the verbs get, list and watch");
    expect(text).toContain('kubectl auth can-i list endpointslices.discovery.k8s.io -n ns.');
  });
});
