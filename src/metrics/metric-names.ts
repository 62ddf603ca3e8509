/**
 * The names of every metric `ClusterMetrics` registers (Prometheus conventions: `gen_cluster_`
 * prefix, `_total` on counters, base units in the name). Each carries the label `cluster`.
 */
export const METRIC_NAMES = Object.freeze({
  /** Gauge: connected members, this node not counted. */
  members: 'gen_cluster_members',
  /** Gauge: nodes in discovery's last good answer. */
  discoveredNodes: 'gen_cluster_discovered_nodes',
  /** Gauge: this node's requests awaiting an answer. */
  requestsInFlight: 'gen_cluster_requests_in_flight',
  /** Gauge: requests this node is serving. */
  requestsServing: 'gen_cluster_requests_serving',
  /** Gauge, label `peer`: bytes queued on the link to each member (`_hidden`: hidden links). */
  sendQueueBytes: 'gen_cluster_send_queue_bytes',
  /** Counter: nodeUp events. */
  nodeUp: 'gen_cluster_node_up_total',
  /** Counter, label `reason`: nodeDown events. */
  nodeDown: 'gen_cluster_node_down_total',
  /** Counter: failed discovery lookups. */
  discoveryErrors: 'gen_cluster_discovery_errors_total',
  /**
   * Gauge: 1 while this node's dist is connected, 0 while it is cut off from its broker (the NATS
   * dist from NATS: `distDisconnected` until `distConnected`); always 1 for the TCP mesh.
   */
  distConnected: 'gen_cluster_dist_connected',
  /** Counter: times this node's dist was cut off from its broker (`distDisconnected` events). */
  distDisconnects: 'gen_cluster_dist_disconnects_total',
  /** Counter: failed connection attempts. */
  connectFailures: 'gen_cluster_connect_failures_total',
  /** Counter, label `reason`: refused handshakes. */
  handshakeRefusals: 'gen_cluster_handshake_refusals_total',
  /** Counter: messages sent. */
  messagesSent: 'gen_cluster_messages_sent_total',
  /** Counter: messages received. */
  messagesReceived: 'gen_cluster_messages_received_total',
  /** Counter: bytes sent. */
  sentBytes: 'gen_cluster_sent_bytes_total',
  /** Counter: bytes received. */
  receivedBytes: 'gen_cluster_received_bytes_total',
  /** Counter, label `outcome`: this node's requests by outcome. */
  requests: 'gen_cluster_requests_total',
  /** Histogram, label `topic`: duration of this node's requests. */
  requestDuration: 'gen_cluster_request_duration_seconds',
  /**
   * Gauge: 1 while this node's side has quorum, 0 without. Registered only while a cluster with
   * a quorum rule (`quorum` option) is attached.
   */
  quorum: 'gen_cluster_quorum',
} as const);

/** The `topic` label of requests on topics past `maxTopics`. */
export const OTHER_TOPIC = '_other';

/** The `peer` label under which hidden links' queued bytes are summed. */
export const HIDDEN_PEER = '_hidden';

/**
 * The `outcome` label values of `gen_cluster_requests_total`, keyed by the field of
 * `MessagingStatsSnapshot.requests` each comes from.
 */
export const REQUEST_OUTCOMES = Object.freeze({
  ok: 'ok',
  remoteError: 'remote_error',
  timeout: 'timeout',
  nodeDown: 'node_down',
  other: 'other',
} as const);
