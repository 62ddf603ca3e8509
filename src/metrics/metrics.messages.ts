import { CoreMessages, describeValue } from '../core/index.js';

/**
 * User-facing texts of the metrics entry (error messages and the metrics' help lines), kept in one
 * place so they can be found and improved.
 */
export const MetricsMessages = {
  // Options and source.
  optionsShape: (value: unknown) =>
    CoreMessages.invalidOption('metricsOptions', value, 'an object or undefined'),
  registryInvalid: (value: unknown) =>
    CoreMessages.invalidOption(
      'metricsOptions.registry',
      value,
      "a prom-client Registry (an object with registerMetric(), getSingleMetric() and metrics()); unset for prom-client's global register",
    ),
  bucketsInvalid: (value: unknown, max: number) =>
    CoreMessages.invalidOption(
      'metricsOptions.buckets',
      value,
      `a non-empty array of at most ${max} finite numbers above 0, strictly increasing (seconds)`,
    ),
  sourceInvalid: (field: string, value: unknown, accepted: string) =>
    CoreMessages.invalidOption(`source${field}`, value, accepted),
  duplicateCluster: (cluster: string) =>
    `The metrics of cluster "${cluster}" are already registered in this registry; each cluster attaches once per registry (close() the first, give the other cluster another name, or use another Registry).`,
  bucketsDiffer: (given: readonly number[], existing: readonly number[]) =>
    `Invalid option metricsOptions.buckets: received ${describeValue(given)}, but another cluster's metrics in this registry use ${describeValue(existing)}; clusters sharing a registry share the histogram, so give the same buckets (or none) or use another Registry.`,
  nameTaken: (name: string) =>
    `The registry already has a metric named "${name}" that ClusterMetrics did not create (another copy of gen-cluster, or an application metric of that name); use another Registry or remove that metric.`,

  // Help lines of the metrics (# HELP).
  help: {
    members: 'Connected members of the cluster, this node not counted.',
    discoveredNodes: "Nodes in discovery's last good answer, this node not counted.",
    requestsInFlight: "This node's requests awaiting an answer.",
    requestsServing: 'Requests this node is serving now.',
    sendQueueBytes:
      'Bytes waiting in the send queue of the link to each member (hidden links summed under peer="_hidden").',
    nodeUp: 'Members that came up (nodeUp events).',
    nodeDown: 'Members that went down (nodeDown events), by reason.',
    discoveryErrors: 'Failed discovery lookups.',
    connectFailures: 'Failed connection attempts to discovered nodes.',
    distConnected:
      "Whether this node's dist is connected (1) or cut off from its broker (0; the NATS dist without NATS); always 1 for the TCP mesh.",
    distDisconnects:
      "Times this node's dist was cut off from its broker (distDisconnected events; the NATS dist losing NATS).",
    handshakeRefusals: 'Handshakes refused (either direction), by reason.',
    messagesSent: 'Messages sent by this node (requests, answers, sends, broadcasts).',
    messagesReceived: 'Messages received by this node.',
    sentBytes: 'Bytes of messages sent by this node.',
    receivedBytes: 'Bytes of messages received by this node.',
    requests:
      "This node's requests by outcome (other: aborted, refused before sending, or messaging closed).",
    requestDuration:
      'Duration of the requests this node sent, by topic (library-internal topics not counted; topics past the limit under topic="_other").',
    quorum:
      "Whether this node's side of the cluster has quorum (1) or not (0); only for a cluster with a quorum rule.",
  },
} as const;
