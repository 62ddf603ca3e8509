import { isIP } from 'node:net';
import { DiscoveryError, type Peer, canonicalHost } from '../../core/index.js';
import { KubernetesMessages } from './kubernetes.messages.js';

/**
 * The parts of the `discovery.k8s.io/v1` API this strategy reads, typed as the API server sends
 * them (fields that Go marshals as `null` are typed so).
 */

/** `metadata` of an object (the fields read here). */
export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>> | null;
}

/** `EndpointConditions`: a `null`/absent condition is unknown (ready: read as ready). */
export interface EndpointConditions {
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
}

/** `ObjectReference` of an endpoint (its pod). */
export interface ObjectReference {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
}

/** One endpoint (one pod) of an EndpointSlice. */
export interface Endpoint {
  /** 1 to 100 fungible addresses; consumers may use the first. */
  readonly addresses: readonly string[];
  readonly conditions?: EndpointConditions | null;
  /** Set when the pod has `spec.hostname` and its `spec.subdomain` is the Service's name. */
  readonly hostname?: string | null;
  readonly targetRef?: ObjectReference | null;
  readonly nodeName?: string | null;
  readonly zone?: string | null;
}

/** `EndpointPort`: a `null` port number means "all ports". */
export interface EndpointPort {
  readonly name?: string | null;
  readonly port?: number | null;
  readonly protocol?: string | null;
  readonly appProtocol?: string | null;
}

/** A `discovery.k8s.io/v1` EndpointSlice. */
export interface EndpointSlice {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN' | (string & {});
  readonly endpoints: readonly Endpoint[] | null;
  readonly ports?: readonly EndpointPort[] | null;
}

/** An `EndpointSliceList` (the answer of a list request). */
export interface EndpointSliceList {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: readonly EndpointSlice[] | null;
}

/** A `meta/v1` Status (error bodies, and the object of a watch `ERROR` event). */
export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion?: string;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

/** One event of a watch stream (one line of newline-delimited JSON). */
export type WatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: EndpointSlice }
  | { readonly type: 'BOOKMARK'; readonly object: EndpointSlice }
  | { readonly type: 'ERROR'; readonly object: KubeStatus };

/** The label the EndpointSlice controller puts on every slice of a Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** How endpoints become peers (the resolved options of the `kubernetes` discovery). */
export interface PeerRules {
  /** The name part of every peer. */
  readonly nodeName: string;
  readonly hostType: 'ip' | 'hostname';
  readonly includeNotReady: boolean;
  readonly excludeTerminating: boolean;
  /** Address families taken; `'any'` takes both slices of a dual-stack Service. */
  readonly addressType: 'IPv4' | 'IPv6' | 'any';
  /** The slice port to put on peers; the first port when unset. */
  readonly portName: string | undefined;
  /** The namespace of a slice that does not say (the one listed). */
  readonly namespace: string;
  readonly clusterDomain: string;
  /** The subdomain of hostname-mode names; the slice's Service (label) when unset. */
  readonly subdomain: string | undefined;
  /** The Service asked for, used as subdomain when a slice has no service-name label. */
  readonly service: string | undefined;
}

/** Peers, and why endpoints were left out (for debug logs). */
export interface SlicePeers {
  readonly peers: Peer[];
  readonly skipped: string[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Turns EndpointSlices into peers, one per endpoint (its first address), sorted by node name and
 * without duplicates (a pod in two slices, or in both slices of a dual-stack Service under
 * `hostType: 'hostname'`, is one peer).
 *
 * - `hostType: 'ip'`: `<nodeName>@<address>` (IPv6 in RFC 5952 form).
 * - `hostType: 'hostname'`: `<nodeName>@<label>.<subdomain>.<namespace>.svc.<clusterDomain>`, where
 *   `label` is the endpoint's `hostname` (the pod's `spec.hostname`, set only when the pod's
 *   `spec.subdomain` is the Service's name), else the name of its `targetRef` pod (such names
 *   resolve only with CoreDNS's `endpoint_pod_names`); `subdomain` the option, else the slice's
 *   `kubernetes.io/service-name` label, else the `service` option. An endpoint with neither name is
 *   skipped.
 * - Readiness: an endpoint whose `ready` condition is `false` is skipped unless `includeNotReady`;
 *   one whose `terminating` condition is `true` is skipped when `excludeTerminating`. A condition
 *   that is absent or `null` is unknown: not-ready is not assumed, nor terminating.
 * - Port: the slice's port named `portName`, else its first port; none when the slice has no port
 *   or its port number is `null`. A slice with usable endpoints but without the named port is an
 *   error (a Service/option mismatch), not an empty answer.
 * - `FQDN` slices and slices of the other family (see `addressType`) are skipped.
 * @throws DiscoveryError when `portName` names a port a slice with endpoints does not have.
 */
export function slicesToPeers(slices: Iterable<EndpointSlice>, rules: PeerRules): SlicePeers {
  const byNode = new Map<string, Peer>();
  const skipped: string[] = [];
  for (const slice of slices) {
    const sliceName = slice.metadata?.name ?? '(unnamed)';
    const family = slice.addressType;
    if (family !== 'IPv4' && family !== 'IPv6') {
      skipped.push(KubernetesMessages.skippedAddressType(sliceName, String(family)));
      continue;
    }
    if (rules.addressType !== 'any' && family !== rules.addressType) continue;
    const usable = (slice.endpoints ?? []).filter(endpoint => {
      if (typeof endpoint !== 'object' || endpoint === null) return false;
      const conditions = endpoint.conditions ?? {};
      if (!rules.includeNotReady && conditions.ready === false) return false;
      if (rules.excludeTerminating && conditions.terminating === true) return false;
      return true;
    });
    if (usable.length === 0) continue;
    const port = slicePort(slice, rules.portName);
    const namespace = slice.metadata?.namespace ?? rules.namespace;
    const subdomain =
      rules.subdomain ?? slice.metadata?.labels?.[SERVICE_NAME_LABEL] ?? rules.service;
    for (const endpoint of usable) {
      const first = Array.isArray(endpoint.addresses) ? endpoint.addresses[0] : undefined;
      const address = typeof first === 'string' ? canonicalHost(first) : undefined;
      if (address === undefined || isIP(address) === 0) {
        skipped.push(KubernetesMessages.skippedAddress(sliceName, first));
        continue;
      }
      let host = address;
      if (rules.hostType === 'hostname') {
        const label = endpoint.hostname || podName(endpoint);
        if (!label || !DNS_LABEL.test(label) || subdomain === undefined) {
          skipped.push(KubernetesMessages.skippedNoHostname(sliceName, address, label));
          continue;
        }
        const name = canonicalHost(`${label}.${subdomain}.${namespace}.svc.${rules.clusterDomain}`);
        if (name === undefined) {
          skipped.push(KubernetesMessages.skippedNoHostname(sliceName, address, label));
          continue;
        }
        host = name;
      }
      const node = `${rules.nodeName}@${host}`;
      if (byNode.has(node)) continue;
      const meta: Record<string, string | number | boolean> = { address, slice: sliceName };
      const pod = podName(endpoint);
      if (pod) meta.pod = pod;
      if (endpoint.zone) meta.zone = endpoint.zone;
      if (endpoint.nodeName) meta.kubernetesNode = endpoint.nodeName;
      const conditions = endpoint.conditions ?? {};
      meta.ready = conditions.ready !== false;
      meta.terminating = conditions.terminating === true;
      byNode.set(node, port === undefined ? { node, meta } : { node, port, meta });
    }
  }
  const peers = [...byNode.values()].sort((a, b) =>
    a.node < b.node ? -1 : a.node > b.node ? 1 : 0,
  );
  return { peers, skipped };
}

function podName(endpoint: Endpoint): string | undefined {
  const ref = endpoint.targetRef;
  return ref && (ref.kind === undefined || ref.kind === 'Pod') && ref.name ? ref.name : undefined;
}

function slicePort(slice: EndpointSlice, portName: string | undefined): number | undefined {
  const ports = slice.ports ?? [];
  const chosen = portName === undefined ? ports[0] : ports.find(p => p.name === portName);
  if (portName !== undefined && chosen === undefined) {
    throw new DiscoveryError(
      KubernetesMessages.portNotFound(
        portName,
        slice.metadata?.name ?? '(unnamed)',
        ports.map(p => p.name ?? ''),
      ),
    );
  }
  const port = chosen?.port;
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535
    ? port
    : undefined;
}

/** Whether a parsed JSON value looks like an EndpointSlice (enough to be read safely). */
export function isEndpointSlice(value: unknown): value is EndpointSlice {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<EndpointSlice>;
  return (
    typeof v.metadata === 'object' &&
    v.metadata !== null &&
    typeof v.addressType === 'string' &&
    (v.endpoints === null || v.endpoints === undefined || Array.isArray(v.endpoints))
  );
}

/** Whether a parsed JSON value is a `Status`. */
export function isKubeStatus(value: unknown): value is KubeStatus {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status'
  );
}
