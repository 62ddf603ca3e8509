import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError, MAX_TIMER_MS } from '../../core/index.js';
import { KubernetesDiscovery } from './kubernetes.discovery.js';
import {
  KUBERNETES_DISCOVERY_DEFAULTS,
  type KubernetesDiscoveryOptions,
} from './kubernetes-options.js';
import { KubernetesMessages } from './kubernetes.messages.js';

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
    ['requestTimeoutMs', MAX_TIMER_MS + 1],
    ['tokenReloadIntervalMs', 1.5],
    ['tokenReloadIntervalMs', MAX_TIMER_MS + 1],
    ['strategy', 'dns'],
  ])('refuses %s = %p, naming the option', (option, value) => {
    const error = configError({ service: 'my-svc', [option]: value });
    expect(error.message).toContain(`discovery (kubernetes).${option}: received `);
  });

  it('refuses durations a Node timer cannot wait (it would fire them after 1 ms)', () => {
    for (const option of ['requestTimeoutMs', 'tokenReloadIntervalMs']) {
      expect(build({ service: 'my-svc', [option]: MAX_TIMER_MS }).settings).toMatchObject({
        [option]: MAX_TIMER_MS,
      });
      expect(configError({ service: 'my-svc', [option]: MAX_TIMER_MS + 1 }).message).toContain(
        `from 1 to ${MAX_TIMER_MS}`,
      );
    }
  });

  it('refuses an unknown option, listing the known ones', () => {
    const error = configError({ service: 'my-svc', servcie: 'x' });
    expect(error.message).toContain('discovery (kubernetes).servcie: received "x"');
    expect(error.message).toContain('known: strategy, service, labelSelector,');
  });

  it('refuses options that are not an object, showing one', () => {
    expect(() => new KubernetesDiscovery(null as never, ENV)).toThrow(
      /discovery \(kubernetes\): received null; expected an object such as \{ strategy: "kubernetes"/,
    );
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
    expect(configError({ service: 'my-svc', caFile: empty }).option).toBe('caFile');
  });
});
