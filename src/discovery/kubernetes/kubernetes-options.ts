/**
 * The options of the `kubernetes` discovery: their types and defaults, and their resolution
 * (checks, defaults, the environment, and the namespace and CA files of the service account).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  type BackoffOptions,
  InvalidConfigError,
  NAME_PART_FORMS,
  canonicalHost,
  checkMilliseconds,
  checkOneOf,
  hostForUrl,
  invalidOption,
  isNamePart,
  toError,
} from '../../core/index.js';
import { checkStrategyOptions, optionName } from '../option-checks.js';
import { SERVICE_NAME_LABEL } from './endpoint-slice.js';
import { KubernetesMessages } from './kubernetes.messages.js';

/**
 * Options of the `kubernetes` discovery: the pods behind a Service, read from the Kubernetes API's
 * `discovery.k8s.io/v1` EndpointSlices and kept current with a watch.
 *
 * Inside a pod only `service` is needed: the namespace, API server, token and CA come from the
 * pod's service account (`/var/run/secrets/kubernetes.io/serviceaccount/{namespace,token,ca.crt}`)
 * and the `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` variables. The ServiceAccount needs
 * `get`, `list` and `watch` on `endpointslices` in the API group `discovery.k8s.io`, in that
 * namespace.
 *
 * @example Every pod runs as `app@${POD_IP}`:
 * { strategy: 'kubernetes', service: 'my-svc' }
 * @example Pods named after their DNS names, on the Service's port named "dist":
 * { strategy: 'kubernetes', service: 'my-svc', hostType: 'hostname', portName: 'dist' }
 */
export interface KubernetesDiscoveryOptions {
  readonly strategy: 'kubernetes';
  /**
   * The Service whose EndpointSlices list the peers (selects the label
   * `kubernetes.io/service-name=<service>`). `service` or `labelSelector` is required; with both,
   * a slice must match both.
   */
  readonly service?: string;
  /** A label selector of EndpointSlices, e.g. `app.kubernetes.io/part-of=my-app`. */
  readonly labelSelector?: string;
  /** The slice port to put on each peer (`Peer.port`); the slice's first port when unset. */
  readonly portName?: string;
  /** Namespace of the Service; the service account's namespace file by default. */
  readonly namespace?: string;
  /** `https://host[:port]`; `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` by default. */
  readonly apiServer?: string;
  /**
   * Bearer token file, re-read every `tokenReloadIntervalMs` and at once on a 401 (bound tokens
   * rotate); the service account's `token` by default. The token is sent to `apiServer` only.
   */
  readonly tokenFile?: string;
  /** CA bundle (PEM) the API server's certificate must chain to; the service account's `ca.crt` by default. TLS is always verified. */
  readonly caFile?: string;
  /**
   * The host part of each peer: `'ip'` (default) the endpoint's first address
   * (`app@10.244.0.5`, `app@fd00::5`); `'hostname'` its DNS name,
   * `<label>.<subdomain>.<namespace>.svc.<clusterDomain>`, where `label` is the endpoint's
   * `hostname` (the pod's `spec.hostname`, set only when its `spec.subdomain` is the Service's
   * name), else its pod name (such names resolve with CoreDNS's `endpoint_pod_names`).
   */
  readonly hostType?: 'ip' | 'hostname';
  /** The subdomain of `'hostname'` names; the slice's Service name by default. */
  readonly subdomain?: string;
  /** The name part of every peer (`<nodeName>@<host>`); this node's own name part by default. */
  readonly nodeName?: string;
  /**
   * Which slices of a dual-stack Service to read. Default: the family of this node's host when it
   * is an IP address (so a pod named `app@10.244.0.5` finds its peers' IPv4 addresses), else both.
   */
  readonly addressType?: 'IPv4' | 'IPv6' | 'any';
  /** Include endpoints whose `ready` condition is false (default true: pods find each other while starting, for formation). */
  readonly includeNotReady?: boolean;
  /** Leave out endpoints whose `terminating` condition is true (default true). */
  readonly excludeTerminating?: boolean;
  /** Keep the slices current with a watch and refresh the cluster at each change (default true); `false` lists at every refresh. */
  readonly watch?: boolean;
  /** The cluster's DNS domain, for `'hostname'` names (default `cluster.local`). */
  readonly clusterDomain?: string;
  /** Deadline of one API request, in ms (default 5000). */
  readonly requestTimeoutMs?: number;
  /** How long a token read from `tokenFile` is used before the file is read again, in ms (default 60000). */
  readonly tokenReloadIntervalMs?: number;
}

/** The options in force, defaults and environment filled in. */
export interface ResolvedKubernetesDiscoveryOptions {
  readonly service: string | undefined;
  /** The label selector sent to the API. */
  readonly labelSelector: string;
  readonly portName: string | undefined;
  readonly namespace: string;
  readonly apiServer: string;
  readonly tokenFile: string;
  readonly caFile: string;
  readonly hostType: 'ip' | 'hostname';
  readonly subdomain: string | undefined;
  readonly nodeName: string | undefined;
  /** `undefined`: chosen at `init()` from this node's host. */
  readonly addressType: 'IPv4' | 'IPv6' | 'any' | undefined;
  readonly includeNotReady: boolean;
  readonly excludeTerminating: boolean;
  readonly watch: boolean;
  readonly clusterDomain: string;
  readonly requestTimeoutMs: number;
  readonly tokenReloadIntervalMs: number;
}

/** Defaults of the `kubernetes` discovery. */
export const KUBERNETES_DISCOVERY_DEFAULTS = Object.freeze({
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
  hostType: 'ip',
  includeNotReady: true,
  excludeTerminating: true,
  watch: true,
  clusterDomain: 'cluster.local',
  requestTimeoutMs: 5_000,
  tokenReloadIntervalMs: 60_000,
  /** Asked of the server for each watch stream; the client cuts a stream 30 s after it. */
  watchTimeoutSeconds: 300,
  /** Between failed watch attempts. */
  watchBackoff: Object.freeze({
    initialMs: 500,
    maxMs: 30_000,
    multiplier: 2,
    jitter: 0.2,
  }) as Readonly<BackoffOptions>,
  /** Failed watch attempts in a row after which `peers()` lists at every refresh. */
  watchFailuresBeforePolling: 3,
} as const);

const KNOWN_OPTIONS = [
  'strategy',
  'service',
  'labelSelector',
  'portName',
  'namespace',
  'apiServer',
  'tokenFile',
  'caFile',
  'hostType',
  'subdomain',
  'nodeName',
  'addressType',
  'includeNotReady',
  'excludeTerminating',
  'watch',
  'clusterDomain',
  'requestTimeoutMs',
  'tokenReloadIntervalMs',
] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ACCEPTS = KubernetesMessages.accepts;
const option = (key: string) => optionName('kubernetes', key);
const bad = (key: string, value: unknown, accepted: string) =>
  invalidOption(option(key), value, accepted);

/**
 * Validates the options, fills in defaults and reads the namespace and CA files.
 * @param env where `KUBERNETES_SERVICE_HOST`/`_PORT` are read.
 * @returns the options in force, and the CA bundle (PEM) read from `caFile`.
 * @throws InvalidConfigError naming the option, the value and the accepted forms, or the file
 *   that cannot be read.
 */
export function resolveKubernetesDiscoveryOptions(
  options: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { settings: ResolvedKubernetesDiscoveryOptions; ca: string } {
  checkStrategyOptions('kubernetes', options, KNOWN_OPTIONS, ACCEPTS.options);
  const o = options;
  const d = KUBERNETES_DISCOVERY_DEFAULTS;

  const service = o.service;
  if (service !== undefined && (typeof service !== 'string' || !DNS_1035_LABEL.test(service)))
    throw bad('service', service, ACCEPTS.service);
  const selector = o.labelSelector;
  if (
    selector !== undefined &&
    (typeof selector !== 'string' || selector.trim() === '' || hasControlCharacter(selector))
  )
    throw bad('labelSelector', selector, ACCEPTS.labelSelector);
  if (service === undefined && selector === undefined)
    throw new InvalidConfigError(KubernetesMessages.needServiceOrSelector(), { option: 'service' });
  const labelSelector = [
    ...(service !== undefined ? [`${SERVICE_NAME_LABEL}=${service}`] : []),
    ...(selector !== undefined ? [(selector as string).trim()] : []),
  ].join(',');

  const label = (key: string, value: unknown, accepted: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !DNS_LABEL.test(value)) throw bad(key, value, accepted);
    return value;
  };
  const portName = label('portName', o.portName, ACCEPTS.portName);
  const subdomain = label('subdomain', o.subdomain, ACCEPTS.subdomain);

  const file = (key: string, fallback: string): string => {
    const value = o[key] ?? fallback;
    if (typeof value !== 'string' || value === '') throw bad(key, o[key], ACCEPTS.file);
    return value;
  };
  const tokenFile = file('tokenFile', join(d.serviceAccountDir, 'token'));
  const caFile = file('caFile', join(d.serviceAccountDir, 'ca.crt'));

  let namespace = label('namespace', o.namespace, ACCEPTS.namespace);
  if (namespace === undefined) {
    const namespaceFile = join(d.serviceAccountDir, 'namespace');
    let text: string;
    try {
      text = readFileSync(namespaceFile, 'utf8').trim();
    } catch (error) {
      throw new InvalidConfigError(
        KubernetesMessages.noNamespace(namespaceFile, errorCode(error)),
        {
          option: 'namespace',
          cause: error,
        },
      );
    }
    namespace = label('namespace', text, ACCEPTS.namespaceIn(namespaceFile))!;
  }

  let apiServer: string;
  if (o.apiServer !== undefined) {
    apiServer = checkApiServer(o.apiServer, bad);
  } else {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) {
      throw new InvalidConfigError(KubernetesMessages.noApiServer(), { option: 'apiServer' });
    }
    apiServer = checkApiServer(`https://${hostForUrl(host)}:${port}`, (_key, value, accepted) =>
      bad('apiServer', value, ACCEPTS.apiServerFromEnvironment(accepted)),
    );
  }

  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new InvalidConfigError(KubernetesMessages.unreadableCaFile(caFile, errorCode(error)), {
      option: 'caFile',
      cause: error,
    });
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----'))
    throw new InvalidConfigError(KubernetesMessages.noCertificate(caFile), { option: 'caFile' });

  const hostType = o.hostType ?? d.hostType;
  checkOneOf(option('hostType'), hostType, ['ip', 'hostname'] as const);

  if (o.nodeName !== undefined && !isNamePart(o.nodeName)) {
    throw bad('nodeName', o.nodeName, NAME_PART_FORMS);
  }
  const nodeName = o.nodeName;

  const addressType = o.addressType;
  if (addressType !== undefined) {
    checkOneOf(option('addressType'), addressType, ['IPv4', 'IPv6', 'any'] as const);
  }

  const flag = (key: string, fallback: boolean): boolean => {
    const value = o[key] ?? fallback;
    checkOneOf(option(key), value, [true, false]);
    return value;
  };

  const domain = o.clusterDomain ?? d.clusterDomain;
  const clusterDomain = typeof domain === 'string' ? canonicalHost(domain) : undefined;
  if (clusterDomain === undefined || isIP(clusterDomain) !== 0 || clusterDomain === '')
    throw bad('clusterDomain', o.clusterDomain, ACCEPTS.clusterDomain);

  const milliseconds = (key: string, fallback: number): number => {
    const value = o[key] ?? fallback;
    checkMilliseconds(option(key), value);
    return value;
  };

  return {
    ca,
    settings: {
      service: service as string | undefined,
      labelSelector,
      portName,
      namespace,
      apiServer,
      tokenFile,
      caFile,
      hostType,
      subdomain,
      nodeName,
      addressType,
      includeNotReady: flag('includeNotReady', d.includeNotReady),
      excludeTerminating: flag('excludeTerminating', d.excludeTerminating),
      watch: flag('watch', d.watch),
      clusterDomain,
      requestTimeoutMs: milliseconds('requestTimeoutMs', d.requestTimeoutMs),
      tokenReloadIntervalMs: milliseconds('tokenReloadIntervalMs', d.tokenReloadIntervalMs),
    },
  };
}

function hasControlCharacter(text: string): boolean {
  return [...text].some(c => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** The system error code of a failed file read (`ENOENT`), else its message. */
function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? toError(error).message;
}

/** `https://host[:port][/prefix]`, without credentials, query or fragment. */
function checkApiServer(
  value: unknown,
  refuse: (key: string, value: unknown, accepted: string) => InvalidConfigError,
): string {
  if (typeof value !== 'string') throw refuse('apiServer', value, ACCEPTS.apiServer);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse('apiServer', value, ACCEPTS.apiServer);
  }
  if (
    url.protocol !== 'https:' ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.hostname === ''
  )
    throw refuse('apiServer', value, ACCEPTS.apiServer);
  return url.href.replace(/\/+$/, '');
}
