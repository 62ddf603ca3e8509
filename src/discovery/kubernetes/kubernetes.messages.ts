import { describeValue } from '../../core/index.js';
import type { KubeFailure } from './kubernetes.errors.js';

/**
 * User-facing texts of the `kubernetes` discovery, kept in one place so they can be found and
 * improved.
 */
export const KubernetesMessages = {
  // Options.
  needServiceOrSelector: () =>
    'The kubernetes discovery needs "service" (the name of the Service whose EndpointSlices list the pods, e.g. { strategy: "kubernetes", service: "my-svc" }) or "labelSelector" (a selector of EndpointSlice labels, e.g. "kubernetes.io/service-name=my-svc").',
  noNamespace: (file: string, code: string) =>
    `Invalid kubernetes discovery option "namespace": it is not set, and the service account's namespace file ${file} cannot be read (${code}). Set "namespace", or run in a pod with its service account token mounted (automountServiceAccountToken: true).`,
  noApiServer: () =>
    'Invalid kubernetes discovery option "apiServer": it is not set, and KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are not in the environment (Kubernetes sets them in every pod). Set "apiServer", e.g. "https://kubernetes.default.svc".',
  unreadableTokenFile: (file: string, why: string) =>
    unreadableFile(
      'tokenFile',
      file,
      why,
      'Mount the service account token (automountServiceAccountToken: true), or point "tokenFile" at a file holding a bearer token.',
    ),
  unreadableCaFile: (file: string, code: string) =>
    unreadableFile(
      'caFile',
      file,
      code,
      'It holds the CA (PEM) the API server certificate must chain to; in a pod it is mounted with the service account token.',
    ),
  noCertificate: (file: string) =>
    unreadableFile(
      'caFile',
      file,
      'no PEM certificate in it',
      'It must hold the CA (PEM) the API server certificate must chain to.',
    ),
  /** What each option accepts, for refusals. */
  accepts: {
    options: 'an object such as { strategy: "kubernetes", service: "my-svc" }',
    service:
      'the name of a Service: lower-case letters, digits and "-", starting with a letter, at most 63 characters',
    labelSelector:
      'a label selector such as "app.kubernetes.io/name=my-app" or "tier in (a,b),!canary"',
    portName: dnsLabel('the name of a port of the Service'),
    subdomain: dnsLabel('a DNS label (the headless Service name)'),
    namespace: dnsLabel('a namespace name'),
    namespaceIn: (file: string) => dnsLabel(`a namespace name (read from ${file})`),
    file: 'a file path',
    apiServer:
      'an https URL of the API server, such as "https://kubernetes.default.svc" or "https://10.96.0.1:443" (TLS is always verified)',
    apiServerFromEnvironment: (accepted: string) =>
      `${accepted} (built from KUBERNETES_SERVICE_HOST/PORT)`,
    clusterDomain: 'a DNS name such as "cluster.local"',
  },

  // The strategy.
  noNodeName: () =>
    'Kubernetes discovery has no node name for its peers: give the "nodeName" option, or let the cluster call init() first (it passes this node\'s name).',
  closed: () => 'Kubernetes discovery is closed.',

  forbidden: (
    verb: string,
    namespace: string,
    serviceAccount: string | undefined,
    serverMessage: string | undefined,
  ) => {
    const [saNamespace, saName] = serviceAccount?.split('/') ?? [];
    const subject =
      saNamespace && saName
        ? `the ServiceAccount "${saName}" of namespace "${saNamespace}"`
        : "this pod's ServiceAccount";
    const as = saNamespace && saName ? ` --as=system:serviceaccount:${saNamespace}:${saName}` : '';
    return `Kubernetes discovery: the API server refused to ${verb} EndpointSlices in namespace "${namespace}" (403 Forbidden${serverMessage ? `: ${serverMessage}` : ''}). ${capitalize(subject)} needs the verbs get, list and watch on the resource endpointslices of the API group discovery.k8s.io (endpointslices.discovery.k8s.io) in namespace "${namespace}": a Role with the rule { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] } and a RoleBinding of it to ${subject}. Check with: kubectl auth can-i ${verb} endpointslices.discovery.k8s.io -n ${namespace}${as}. Keeping the last good peers.`;
  },
  unauthorized: (tokenFile: string, serverMessage: string | undefined) =>
    `Kubernetes discovery: the API server rejected the bearer token read from ${tokenFile} (401 Unauthorized${serverMessage ? `: ${serverMessage}` : ''}), also after re-reading the file. Check that the pod mounts its service account token (automountServiceAccountToken) and that the ServiceAccount still exists. Keeping the last good peers.`,
  serverError: (what: string, status: number, serverMessage: string | undefined, url: string) =>
    `Kubernetes discovery: ${what} at ${url} failed with HTTP ${status}${serverMessage ? ` (${serverMessage})` : ''}; keeping the last good peers.`,
  timeout: (what: string, ms: number, url: string) =>
    `Kubernetes discovery: ${what} at ${url} got no answer within ${ms} ms (option "requestTimeoutMs"); keeping the last good peers.`,
  network: (what: string, code: string, message: string, url: string) =>
    `Kubernetes discovery: ${what} at ${url} failed (${code}: ${message}); keeping the last good peers.`,
  tls: (what: string, code: string, message: string, url: string, caFile: string) =>
    `Kubernetes discovery: ${what} at ${url} failed: the server's TLS certificate was not accepted (${code}: ${message}). It must chain to the CA in ${caFile} (option "caFile") and name the host of "apiServer"; verification cannot be turned off. Keeping the last good peers.`,
  token: (file: string, message: string) =>
    `Kubernetes discovery: cannot read the service account token ${file} (option "tokenFile"): ${message}; keeping the last good peers.`,
  protocol: (what: string, message: string, url: string) =>
    `Kubernetes discovery: ${what} at ${url}: ${message}; keeping the last good peers.`,
  portNotFound: (portName: string, slice: string, available: readonly string[]) =>
    `Kubernetes discovery: EndpointSlice "${slice}" has no port named "${portName}" (option "portName"); its ports are ${available.length ? available.map(p => JSON.stringify(p)).join(', ') : 'none'}. Name the Service's dist port "${portName}", or change "portName". Keeping the last good peers.`,

  listWhat: (namespace: string, selector: string) =>
    `listing EndpointSlices in namespace "${namespace}" with label selector "${selector}"`,
  watchWhat: (namespace: string, selector: string) =>
    `watching EndpointSlices in namespace "${namespace}" with label selector "${selector}"`,

  skippedAddressType: (slice: string, type: string) =>
    `Kubernetes discovery: EndpointSlice "${slice}" has addressType ${JSON.stringify(type)}; only IPv4 and IPv6 slices are read, skipped.`,
  skippedAddress: (slice: string, address: unknown) =>
    `Kubernetes discovery: an endpoint of EndpointSlice "${slice}" has no usable address (${describeValue(address)}); skipped.`,
  skippedNoHostname: (slice: string, address: string, label: string | undefined) =>
    `Kubernetes discovery: the endpoint ${address} of EndpointSlice "${slice}" has ${label ? `the name ${JSON.stringify(label)}, which is not a DNS label` : 'neither a hostname nor a pod name'} (hostType "hostname"); skipped.`,
  answered: (count: number, source: 'watch' | 'list') =>
    `Kubernetes discovery: ${count} peer(s) from ${source === 'watch' ? 'the watched EndpointSlices' : 'a list of the EndpointSlices'}.`,
  listed: (slices: number, resourceVersion: string) =>
    `Kubernetes discovery: listed ${slices} EndpointSlice(s) at resourceVersion ${resourceVersion}; watching from there.`,
  gone: (resourceVersion: string | undefined) =>
    `Kubernetes discovery: resourceVersion ${resourceVersion ?? '(none)'} is too old for the watch (410 Gone); listing again.`,
  watchEnded: (resourceVersion: string | undefined, delayMs: number, reason: string) =>
    `Kubernetes discovery: the EndpointSlice watch ended (${reason}); resuming from resourceVersion ${resourceVersion ?? '(none)'} in ${delayMs} ms.`,
  watchFallback: (failures: number, reason: string) =>
    `Kubernetes discovery: the EndpointSlice watch failed ${failures} times in a row (last: ${reason}); listing at every refresh until the watch works again.`,
  watchResumed: () => 'Kubernetes discovery: the EndpointSlice watch works again.',
  ignoredEvent: (type: string) =>
    `Kubernetes discovery: ignored a watch event of unknown type ${JSON.stringify(type)}.`,

  // Failed API requests (the `message` of a KubeRequestError and of its failure).
  requestFailed: (failure: KubeFailure, path: string) =>
    `${describeFailure(failure)} (GET ${path})`,
  notJson: (reason: string) => `the answer is not JSON (${reason})`,
  answerTooLarge: (maxBytes: number) => `the answer is larger than ${maxBytes} bytes`,
  answerBrokeOff: () => 'the answer broke off',
  eventNotJson: (reason: string) => `a watch event is not JSON (${reason})`,
  eventTooLarge: (maxBytes: number) => `a watch event is larger than ${maxBytes} bytes`,
  eventWithoutType: () => 'a watch event has no "type"',
  eventWithoutSlice: (type: string) => `a ${type} event does not hold an EndpointSlice`,
  streamBrokeOff: () => 'the watch stream broke off',
  streamEndedAtOnce: () => 'the watch stream ended at once',
  notSliceList: () => 'the answer is not an EndpointSliceList',
  notSliceListWithVersion: () => 'the answer is not an EndpointSliceList with a resourceVersion',
  tokenFileEmpty: () => 'the file is empty',
  notBearerToken: () => 'the file does not hold a bearer token',
} as const;

function unreadableFile(option: string, file: string, code: string, hint: string): string {
  return `Invalid kubernetes discovery option "${option}": cannot read ${file} (${code}). ${hint}`;
}

function dnsLabel(what: string): string {
  return `${what}: lower-case letters, digits and "-", at most 63 characters`;
}

function describeFailure(failure: KubeFailure): string {
  switch (failure.kind) {
    case 'status':
      return `HTTP ${failure.status}${failure.body?.message ? `: ${failure.body.message}` : ''}`;
    case 'timeout':
      return `no answer within ${failure.ms} ms`;
    case 'network':
      return `${failure.code}: ${failure.message}`;
    case 'token':
      return `cannot read the token file ${failure.file}: ${failure.message}`;
    case 'protocol':
      return failure.message;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
