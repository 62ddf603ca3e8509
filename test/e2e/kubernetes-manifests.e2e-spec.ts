import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { DnsDiscovery, type DnsDiscoveryOptions } from '../../src/discovery/index.js';
import { KubernetesDiscovery, type KubernetesDiscoveryOptions } from '../../src/discovery/index.js';
import {
  type ClusterOptions,
  distFindsPeers,
  parseDiscoveryEnv,
  parseDistEnv,
  resolveClusterOptions,
} from '../../src/config/index.js';
import { natsServerBinary } from '../support/nats-server.js';

/**
 * The sample deployment (sample/kubernetes): each kustomization is rendered with the real
 * `kubectl kustomize`, the objects are decoded by kubectl itself (`annotate --local -o json`, no
 * cluster needed), and checked for what the README promises: the ports agree, the environment is
 * complete and valid for the library, the health probes, the Secret, graceful termination, and RBAC of
 * exactly get/list/watch on endpointslices.
 *
 * kubectl comes from Debian's `kubernetes-client` package (kubectl 1.20, whose kustomize reads
 * `bases` and `patchesStrategicMerge`; newer kubectl renders the same objects). Without kubectl
 * every test here fails, naming the install command.
 */

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = join(ROOT, 'sample/kubernetes');
const NS = 'gen-cluster-sample';
/** The sample's Deployment and its headless Service. */
const APP = 'gen-cluster-sample';
/** The kustomizations on the TCP mesh, and all of them (the NATS overlay too). */
const TCP_KUSTOMIZATIONS = ['base', 'overlays/srv', 'overlays/kubernetes-api'];
const ALL_KUSTOMIZATIONS = [...TCP_KUSTOMIZATIONS, 'overlays/nats'];

/** The Debian package with kubectl (and `kubectl kustomize`). */
const KUBECTL_APT_PACKAGE = 'kubernetes-client';
const INSTALL = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${KUBECTL_APT_PACKAGE}`;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

interface Probe {
  httpGet?: { path: string; port: string | number };
}

interface ResourceList {
  cpu?: string;
  memory?: string;
}

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  ports: { name?: string; containerPort: number; protocol?: string }[];
  env: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  startupProbe?: Probe;
  command?: string[];
  resources?: { requests?: ResourceList; limits?: ResourceList };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
}

interface PodSpec {
  containers: Container[];
  subdomain?: string;
  hostname?: string;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; configMap?: { name: string }; emptyDir?: object }[];
}

interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

interface StatefulSet extends K8sObject {
  spec: {
    replicas: number;
    serviceName: string;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

interface Service extends K8sObject {
  spec: {
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: string | number; protocol?: string }[];
  };
}

interface Rendered {
  readonly objects: K8sObject[];
  one<T extends K8sObject = K8sObject>(kind: string, name?: string): T;
  all(kind: string): K8sObject[];
}

let kubectl: string;
let scratch: string;
const rendered = new Map<string, Rendered>();

/** The `kubectl` binary, or a loud error naming the package and the install command. */
function findKubectl(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  }
  throw new Error(
    `The Kubernetes manifest tests need kubectl (for "kubectl kustomize"), which is not installed. Install Debian's "${KUBECTL_APT_PACKAGE}" package as root:\n  ${INSTALL}`,
  );
}

/** Splits kubectl's output of several JSON documents, one after the other. */
function splitJson(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) {
      values.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return values;
}

/** Renders a kustomization and decodes its objects with kubectl. */
async function render(kustomization: string): Promise<Rendered> {
  const cached = rendered.get(kustomization);
  if (cached) return cached;
  let yaml: string;
  try {
    ({ stdout: yaml } = await run(kubectl, ['kustomize', join(DIR, kustomization)], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`kubectl kustomize ${kustomization} failed: ${stderr?.trim() || message}`);
  }
  const file = join(scratch, `${kustomization.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(file, yaml);
  // Decoded by kubectl itself (typed: a field of the wrong type fails here), offline.
  const { stdout } = await run(
    kubectl,
    ['annotate', '--local', '-f', file, '-o', 'json', 'gen-cluster.test/probe-'],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const objects = splitJson(stdout).flatMap(value => {
    const o = value as K8sObject & { items?: K8sObject[] };
    return o.kind === 'List' ? (o.items ?? []) : [o];
  });
  const result: Rendered = {
    objects,
    all: kind => objects.filter(o => o.kind === kind),
    one: <T extends K8sObject>(kind: string, name?: string) => {
      const found = objects.filter(o => o.kind === kind && (!name || o.metadata.name === name));
      if (found.length !== 1)
        throw new Error(
          `${kustomization}: expected one ${kind}${name ? ` "${name}"` : ''}, found ${found.length}`,
        );
      return found[0] as T;
    },
  };
  rendered.set(kustomization, result);
  return result;
}

const env = (container: Container, name: string): EnvVar => {
  const found = container.env.find(e => e.name === name);
  if (!found) throw new Error(`env ${name} is missing`);
  return found;
};

const podSpec = (r: Rendered) => r.one<Deployment>('Deployment').spec.template.spec;
const container = (r: Rendered) => podSpec(r).containers[0]!;

/** Options of the discovery a pod would build from its environment. */
function discoveryOptions(r: Rendered): Record<string, unknown> & { strategy: string } {
  return parseDiscoveryEnv(env(container(r), 'GEN_CLUSTER_DISCOVERY').value!);
}

beforeAll(() => {
  kubectl = findKubectl();
  scratch = mkdtempSync(join(tmpdir(), 'gen-cluster-manifests-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.each(ALL_KUSTOMIZATIONS)('%s', kustomization => {
  it('renders a namespace, a headless Service and a Deployment of 3 replicas in it', async () => {
    const r = await render(kustomization);
    expect(r.one('Namespace').metadata.name).toBe(NS);
    const service = r.one<Service>('Service', APP);
    const deployment = r.one<Deployment>('Deployment');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.publishNotReadyAddresses).toBe(true);
    expect(deployment.spec.replicas).toBe(3);
    for (const o of r.objects) {
      if (o.kind === 'Namespace') continue;
      if (o.kind === 'ConfigMap' && o.metadata.name === 'coredns') continue;
      expect([o.kind, o.metadata.namespace]).toEqual([o.kind, NS]);
    }
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(labels).toMatchObject(service.spec.selector);
  });

  it('names the node from the downward API, with every $(VAR) defined before its use', async () => {
    const r = await render(kustomization);
    const c = container(r);
    expect(env(c, 'POD_IP').valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    expect(env(c, 'GEN_CLUSTER_NODE').value).toMatch(/^app@/);
    c.env.forEach((variable, i) => {
      for (const [, name] of (variable.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
        const defined = c.env.findIndex(e => e.name === name);
        expect([variable.name, name, defined >= 0 && defined < i]).toEqual([
          variable.name,
          name,
          true,
        ]);
      }
    });
  });

  it('takes the cookie from the generated Secret', async () => {
    const r = await render(kustomization);
    const ref = env(container(r), 'GEN_CLUSTER_COOKIE').valueFrom?.secretKeyRef;
    expect(ref).toBeDefined();
    const secret = r.one('Secret', ref!.name) as K8sObject & { data: Record<string, string> };
    expect(ref!.name).toMatch(/^gen-cluster-sample-cookie-[a-z0-9]{10}$/);
    expect(Buffer.from(secret.data[ref!.key]!, 'base64').length).toBeGreaterThan(0);
  });

  it('serves HTTP on HTTP_HOST 0.0.0.0 and probes /health/ready for readiness and /health/live for liveness', async () => {
    const r = await render(kustomization);
    const c = container(r);
    expect(env(c, 'HTTP_HOST').value).toBe('0.0.0.0');
    const http = c.ports.find(p => p.name === 'http');
    expect(http?.containerPort).toBe(Number(env(c, 'HTTP_PORT').value));
    expect(c.readinessProbe?.httpGet?.path).toBe('/health/ready');
    expect(c.livenessProbe?.httpGet?.path).toBe('/health/live');
    for (const probe of [c.readinessProbe, c.livenessProbe])
      expect(['http', http?.containerPort]).toContain(probe?.httpGet?.port);
  });

  it('sets GEN_CLUSTER_MIN_MEMBERS for readiness to a peer count the replicas can reach', async () => {
    const r = await render(kustomization);
    const value = env(container(r), 'GEN_CLUSTER_MIN_MEMBERS').value;
    expect(value).toMatch(/^\d+$/);
    // Peers exclude the pod itself: more than replicas - 1 could never be ready.
    expect(Number(value)).toBeLessThanOrEqual(r.one<Deployment>('Deployment').spec.replicas - 1);
  });

  it('terminates gracefully and runs unprivileged', async () => {
    const r = await render(kustomization);
    const spec = podSpec(r);
    const c = container(r);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(10);
    expect(c.lifecycle?.preStop?.exec?.command).toBeDefined();
    expect(spec.securityContext?.runAsNonRoot).toBe(true);
    expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.image).toBe('gen-cluster-sample:0.1.0');
    expect(c.imagePullPolicy).toBe('IfNotPresent');
  });

  it('grants no cluster-wide permission', async () => {
    const r = await render(kustomization);
    expect(r.all('ClusterRole')).toEqual([]);
    expect(r.all('ClusterRoleBinding')).toEqual([]);
  });
});

// The TCP mesh's kustomizations (the NATS overlay has no dist port: see below).
describe.each(TCP_KUSTOMIZATIONS)('%s (TCP mesh)', kustomization => {
  it('uses one dist port everywhere: the Service port "dist", the container port and GEN_CLUSTER_PORT', async () => {
    const r = await render(kustomization);
    const service = r.one<Service>('Service', APP);
    const c = container(r);
    const servicePort = service.spec.ports.find(p => p.name === 'dist');
    const containerPort = c.ports.find(p => p.name === 'dist');
    expect(servicePort).toBeDefined();
    expect(containerPort).toBeDefined();
    const port = Number(env(c, 'GEN_CLUSTER_PORT').value);
    expect(servicePort!.port).toBe(port);
    expect(containerPort!.containerPort).toBe(port);
    expect([port, 'dist']).toContain(servicePort!.targetPort);
    expect(servicePort!.protocol ?? 'TCP').toBe('TCP');
  });
});

describe('base: DNS A records', () => {
  it('finds peers with dns:<service>.<namespace>, as app@$(POD_IP), without API access', async () => {
    const r = await render('base');
    const service = r.one<Service>('Service', APP);
    const c = container(r);
    expect(env(c, 'GEN_CLUSTER_NODE').value).toBe('app@$(POD_IP)');
    const options = discoveryOptions(r);
    expect(options).toEqual({ strategy: 'dns', domain: `${service.metadata.name}.${NS}` });
    expect(() => new DnsDiscovery(options as unknown as DnsDiscoveryOptions)).not.toThrow();
    expect(podSpec(r).automountServiceAccountToken).toBe(false);
    expect(r.all('Role')).toEqual([]);
    expect(r.all('RoleBinding')).toEqual([]);
  });
});

describe('overlays/srv: DNS SRV records', () => {
  it('names pods <pod>.<subdomain>.<namespace>.svc.cluster.local and asks _dist._tcp.<service>.<namespace>', async () => {
    const r = await render('overlays/srv');
    const service = r.one<Service>('Service', APP);
    const spec = podSpec(r);
    const c = container(r);
    expect(spec.subdomain).toBe(service.metadata.name);
    expect(spec.hostname).toBeUndefined(); // one per replica would clash
    expect(env(c, 'POD_NAME').valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env(c, 'GEN_CLUSTER_NODE').value).toBe(
      `app@$(POD_NAME).${spec.subdomain}.${NS}.svc.cluster.local`,
    );
    const options = discoveryOptions(r);
    expect(options).toEqual({
      strategy: 'dns',
      recordType: 'srv',
      domain: `_dist._tcp.${service.metadata.name}.${NS}`,
    });
    expect(() => new DnsDiscovery(options as unknown as DnsDiscoveryOptions)).not.toThrow();
  });

  it('configures CoreDNS (kube-system) with endpoint_pod_names in its kubernetes block', async () => {
    const r = await render('overlays/srv');
    const coredns = r.one('ConfigMap', 'coredns') as K8sObject & { data: { Corefile: string } };
    expect(coredns.metadata.namespace).toBe('kube-system');
    const block = /kubernetes cluster\.local[^{]*\{([^}]*)\}/.exec(coredns.data.Corefile);
    expect(block?.[1]).toMatch(/^\s*endpoint_pod_names\s*$/m);
    expect(block?.[1]).toMatch(/^\s*pods insecure\s*$/m);
  });
});

describe('overlays/kubernetes-api: the Kubernetes API strategy', () => {
  it('runs the pods as a ServiceAccount with its token mounted', async () => {
    const r = await render('overlays/kubernetes-api');
    const account = r.one('ServiceAccount');
    expect(podSpec(r).serviceAccountName).toBe(account.metadata.name);
    expect(podSpec(r).automountServiceAccountToken).toBe(true);
  });

  it('grants exactly get, list and watch on endpointslices of discovery.k8s.io, to that ServiceAccount only', async () => {
    const r = await render('overlays/kubernetes-api');
    const account = r.one('ServiceAccount');
    const role = r.one('Role') as K8sObject & { rules: unknown[] };
    expect(role.rules).toEqual([
      {
        apiGroups: ['discovery.k8s.io'],
        resources: ['endpointslices'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
    const binding = r.one('RoleBinding') as K8sObject & {
      roleRef: unknown;
      subjects: unknown[];
    };
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata.name,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: account.metadata.name, namespace: NS },
    ]);
  });

  it('configures the kubernetes discovery for the Service and its dist port, with options the strategy accepts', async () => {
    const r = await render('overlays/kubernetes-api');
    const service = r.one<Service>('Service', APP);
    const c = container(r);
    expect(env(c, 'GEN_CLUSTER_NODE').value).toBe('app@$(POD_IP)');
    const options = discoveryOptions(r);
    expect(options).toMatchObject({ strategy: 'kubernetes', service: service.metadata.name });
    if (options.portName !== undefined)
      expect(service.spec.ports.map(p => p.name)).toContain(options.portName);
    // As in the pod: the namespace, token and CA come from the service account's files.
    const caFile = join(scratch, 'ca.crt');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const strategy = new KubernetesDiscovery(
      { ...options, namespace: NS, caFile } as unknown as KubernetesDiscoveryOptions,
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    );
    expect(strategy.settings.labelSelector).toBe(
      `kubernetes.io/service-name=${service.metadata.name}`,
    );
    await strategy.close();
  });
});

describe('overlays/nats: the NATS dist', () => {
  const KUSTOMIZATION = 'overlays/nats';
  const TCP_ONLY = ['GEN_CLUSTER_PORT', 'GEN_CLUSTER_BIND', 'GEN_CLUSTER_PORTMAPPER_BIND'];

  /** The NATS servers' StatefulSet, its container, and the named container port. */
  const nats = (r: Rendered) => {
    const set = r.one<StatefulSet>('StatefulSet');
    const c = set.spec.template.spec.containers[0]!;
    const port = (name: string) => {
      const found = c.ports.find(p => p.name === name);
      if (!found) throw new Error(`the nats container has no port "${name}"`);
      return found.containerPort;
    };
    return { set, container: c, port };
  };

  /** The server configuration: nats.conf of the ConfigMap the StatefulSet mounts. */
  const natsConf = (r: Rendered): string => {
    const { set, container: c } = nats(r);
    const volume = set.spec.template.spec.volumes?.find(v => v.configMap);
    const map = r.one('ConfigMap', volume?.configMap?.name) as K8sObject & {
      data: Record<string, string>;
    };
    const mount = c.volumeMounts?.find(m => m.name === volume!.name);
    const config = c.command?.[c.command.indexOf('--config') + 1];
    expect(config).toBe(`${mount!.mountPath}/nats.conf`);
    return map.data['nats.conf']!;
  };

  /** A numeric setting of nats.conf (`name: value` on a line of its own, at any depth). */
  const setting = (conf: string, name: string): string | undefined =>
    new RegExp(`^\\s*${name}\\s*[:=]\\s*(\\S+)\\s*$`, 'm').exec(conf)?.[1];

  /** The environment a sample pod would see: literal values with $(VAR) expanded, the downward API and the Secret filled in. */
  const podEnv = (r: Rendered): Record<string, string> => {
    const values: Record<string, string> = {};
    for (const e of container(r).env) {
      if (e.value !== undefined)
        values[e.name] = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, n: string) => {
          return values[n] ?? `$(${n})`;
        });
      else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') values[e.name] = '10.244.0.5';
      else if (e.valueFrom?.fieldRef) values[e.name] = 'gen-cluster-sample-7d9c5b8f4-x2k9p';
      else if (e.valueFrom?.secretKeyRef) {
        const { name, key } = e.valueFrom.secretKeyRef;
        const secret = r.one('Secret', name) as K8sObject & { data: Record<string, string> };
        values[e.name] = Buffer.from(secret.data[key]!, 'base64').toString('utf8');
      }
    }
    return values;
  };

  it('runs the sample on GEN_CLUSTER_DIST=nats://<client Service>:<port>, without GEN_CLUSTER_PORT or GEN_CLUSTER_DISCOVERY', async () => {
    const r = await render(KUSTOMIZATION);
    const c = container(r);
    const names = c.env.map(e => e.name);
    for (const name of ['GEN_CLUSTER_DISCOVERY', ...TCP_ONLY]) expect(names).not.toContain(name);
    expect(names.filter(n => n === 'GEN_CLUSTER_DIST')).toHaveLength(1);
    const dist = parseDistEnv(env(c, 'GEN_CLUSTER_DIST').value!);
    expect(dist.strategy).toBe('nats');
    const client = r.one<Service>('Service', 'nats');
    const clientPort = client.spec.ports.find(p => p.name === 'client')!.port;
    const servers = (dist as { servers: readonly string[] }).servers;
    expect(servers.length).toBeGreaterThan(0);
    for (const server of servers) {
      const url = new URL(server);
      expect([url.protocol, url.hostname, Number(url.port)]).toEqual([
        'nats:',
        client.metadata.name,
        clientPort,
      ]);
    }
  });

  it('gives a configuration the library accepts, the dist being its own discovery, where the base GEN_CLUSTER_PORT would be refused', async () => {
    const r = await render(KUSTOMIZATION);
    const values = podEnv(r);
    const { options, self } = resolveClusterOptions<ClusterOptions>({}, values);
    expect(self).toBe('app@10.244.0.5');
    expect(options.dist).toMatchObject({ strategy: 'nats', cookie: values.GEN_CLUSTER_COOKIE });
    expect(options.discovery).toBeUndefined();
    expect(distFindsPeers(options.dist)).toBe(true);
    // Why the patch deletes it: the NATS dist refuses the TCP mesh's listener variables.
    const port = env(container(await render('base')), 'GEN_CLUSTER_PORT').value!;
    expect(() => resolveClusterOptions({}, { ...values, GEN_CLUSTER_PORT: port })).toThrow(
      /GEN_CLUSTER_PORT/,
    );
  });

  it('drops the dist port from the container and the sample Service, which keeps its DNS records for HTTP', async () => {
    const r = await render(KUSTOMIZATION);
    const basePort = Number(env(container(await render('base')), 'GEN_CLUSTER_PORT').value);
    const c = container(r);
    const service = r.one<Service>('Service', APP);
    expect(c.ports.map(p => p.name)).not.toContain('dist');
    expect(c.ports.map(p => p.containerPort)).not.toContain(basePort);
    expect(service.spec.ports.map(p => p.port)).not.toContain(basePort);
    expect(service.spec.ports).toEqual([
      {
        name: 'http',
        protocol: 'TCP',
        port: Number(env(c, 'HTTP_PORT').value),
        targetPort: 'http',
      },
    ]);
  });

  it('runs 3 nats-server pods (nats:2.10-alpine) in a StatefulSet behind a headless Service, probed on /healthz of the monitoring port, with resources', async () => {
    const r = await render(KUSTOMIZATION);
    const { set, container: c, port } = nats(r);
    expect(set.metadata.namespace).toBe(NS);
    expect(set.spec.replicas).toBe(3);
    expect(c.image).toBe('nats:2.10-alpine');
    const headless = r.one<Service>('Service', set.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    const labels = set.spec.template.metadata.labels;
    expect(labels).toMatchObject(set.spec.selector.matchLabels);
    expect(labels).toMatchObject(headless.spec.selector);
    // The sample's Service does not select the NATS pods, nor the reverse.
    expect(labels).not.toMatchObject(r.one<Service>('Service', APP).spec.selector);
    const cluster = headless.spec.ports.find(p => p.name === 'cluster');
    expect(cluster?.port).toBe(port('cluster'));
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
      expect(probe?.httpGet?.path).toBe('/healthz');
      expect(['monitor', port('monitor')]).toContain(probe?.httpGet?.port);
    }
    expect(c.resources?.requests?.cpu).toBeDefined();
    expect(c.resources?.requests?.memory).toBeDefined();
    expect(c.resources?.limits?.memory).toBeDefined();
    expect(set.spec.template.spec.securityContext?.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
  });

  it('routes every server to the three pods by their DNS names, in a configuration nats-server accepts', async () => {
    const r = await render(KUSTOMIZATION);
    const { set, container: c, port } = nats(r);
    const conf = natsConf(r);
    const block = /^cluster\s*\{([\s\S]*?)^\}/m.exec(conf)?.[1];
    expect(block).toBeDefined();
    const routes = /routes\s*[:=]?\s*\[([^\]]*)\]/.exec(block!)?.[1]?.match(/\S+/g);
    const pods = [0, 1, 2].map(i => `${set.metadata.name}-${i}`);
    expect(routes).toEqual(
      pods.map(
        pod => `nats://${pod}.${set.spec.serviceName}.${NS}.svc.cluster.local:${port('cluster')}`,
      ),
    );
    expect(Number(setting(block!, 'port'))).toBe(port('cluster'));
    expect(Number(setting(conf, 'port'))).toBe(port('client'));
    expect(Number(setting(conf, 'http_port'))).toBe(port('monitor'));
    // The default max_payload (1 MB): the dist fragments larger messages.
    expect(setting(conf, 'max_payload') ?? '1MB').toBe('1MB');
    // The preStop hook signals lame-duck mode through the pid file, on a writable volume.
    const pidFile = setting(conf, 'pid_file')!;
    expect(c.lifecycle?.preStop?.exec?.command).toEqual([
      'nats-server',
      '--signal',
      `ldm=${pidFile}`,
    ]);
    const pidMount = c.volumeMounts?.find(m => pidFile.startsWith(`${m.mountPath}/`));
    const pidVolume = set.spec.template.spec.volumes?.find(v => v.name === pidMount?.name);
    expect(pidVolume?.emptyDir).toBeDefined();
    // server_name comes from the pod name.
    expect(setting(conf, 'server_name')).toBe('$SERVER_NAME');
    expect(env(c, 'SERVER_NAME').valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    // The real nats-server parses it (-t: test the configuration and exit).
    const file = join(scratch, 'nats.conf');
    writeFileSync(file, conf);
    const { stdout, stderr } = await run(natsServerBinary(), ['-c', file, '-t'], {
      timeout: 30_000,
      env: { ...process.env, SERVER_NAME: pods[0] },
    });
    expect(`${stdout}${stderr}`).toMatch(/valid/);
  });

  it('serves NATS clients on the Service "nats", port 4222, selecting the NATS pods', async () => {
    const r = await render(KUSTOMIZATION);
    const { set, port } = nats(r);
    const client = r.one<Service>('Service', 'nats');
    expect(client.spec.clusterIP).not.toBe('None');
    expect(client.spec.ports).toEqual([
      { name: 'client', protocol: 'TCP', port: 4222, targetPort: 'client' },
    ]);
    expect(port('client')).toBe(4222);
    expect(set.spec.template.metadata.labels).toMatchObject(client.spec.selector);
    expect(
      r
        .all('Service')
        .map(s => s.metadata.name)
        .sort(),
    ).toEqual([APP, 'nats', set.spec.serviceName].sort());
  });
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(join(DIR, 'Dockerfile'), 'utf8');

  it('builds in stages and runs as the non-root user the Deployment expects, with production dependencies only', async () => {
    const r = await render('base');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/npm install --omit=dev/);
    expect(runtime).toMatch(new RegExp(`^USER ${podSpec(r).securityContext!.runAsUser}:`, 'm'));
    expect(runtime).not.toMatch(/npm ci --no-audit --no-fund\s*$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/sample\/main\.js"\]$/m);
  });

  it("installs the sample's run-time packages, the health and metrics ones and the NATS client (overlays/nats) included, at their locked versions", async () => {
    const dir = join(scratch, 'runtime-deps');
    mkdirSync(dir);
    for (const file of ['package.json', 'package-lock.json'])
      copyFileSync(join(ROOT, file), join(dir, file));
    await run(process.execPath, [join(DIR, 'runtime-deps.mjs')], { cwd: dir, timeout: 30_000 });
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies?: unknown;
    };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    for (const name of [
      '@nestjs/terminus',
      'prom-client',
      '@nestjs/platform-express',
      'rxjs',
      '@nats-io/transport-node',
    ])
      expect([name, manifest.dependencies[name]]).toEqual([
        name,
        lock.packages[`node_modules/${name}`]!.version,
      ]);
    expect(manifest.devDependencies).toBeUndefined();
  });

  it('exposes the ports the manifests use', async () => {
    const c = container(await render('base'));
    const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)![1]!.split(/\s+/).map(Number).sort();
    expect(exposed).toEqual(c.ports.map(p => p.containerPort).sort());
  });
});
