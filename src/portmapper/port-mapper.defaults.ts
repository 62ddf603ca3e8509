/**
 * The port of the host-local port mapper when none is configured (`portMapperPort`,
 * `GEN_CLUSTER_PORTMAPPER_PORT`): **14369**.
 *
 * Why this number:
 * - It is not Erlang's 4369, so a gen-cluster node never registers with, or takes the place of,
 *   an Erlang `epmd` on the same host (and `erl` nodes never show up as cluster peers).
 * - It is not 4370 or another port just above 4369: Erlang users often give the distribution a
 *   fixed range starting there (`inet_dist_listen_min 4370`).
 * - It stays clear of RabbitMQ's well-known ports (4369, 5672, 15672, 25672, 35672-35682) and of
 *   the other ports Erlang services usually take, and has no entry of its own in `/etc/services`.
 * - It is below every OS's ephemeral range (Linux 32768-60999, IANA/Windows/macOS 49152-65535),
 *   so an outgoing connection can never hold it at the moment a node wants to listen on it.
 * - It is easy to remember: 4369 with a 1 in front.
 *
 * Point `portMapperPort` at 4369 to share a real `epmd` instead (the wire protocol is EPMD's).
 */
export const DEFAULT_PORT_MAPPER_PORT = 14369;

/** The address a port mapper listens on and nodes register at: IPv4 loopback. */
export const DEFAULT_PORT_MAPPER_HOST = '127.0.0.1';

/** Defaults of the port mapper layer. */
export const PORT_MAPPER_DEFAULTS = Object.freeze({
  /** Idle time after which the server closes a connection that sent no complete request. */
  packetTimeoutMs: 10_000,
  /** Names the server holds at most; a registration beyond is refused. */
  maxRegistrations: 10_000,
  /**
   * Connections without a registration held at once; past it the oldest from another host is
   * closed (the oldest loopback one only when there is none).
   */
  maxPendingConnections: 1_024,
  /** Pending connections held at once from one non-loopback address; past it a new one is closed. */
  maxPendingPerAddress: 32,
  /** How long the client waits for a TCP connection to the mapper. */
  connectTimeoutMs: 1_000,
  /** How long the client waits for the mapper's answer once connected. */
  requestTimeoutMs: 2_000,
  /** Largest NAMES answer the client reads (a full registry of long names fits). */
  maxNamesResponseBytes: 4 * 1024 * 1024,
  /** The registration retries within this many ms (with jitter) after losing the mapper. */
  retryMaxDelayMs: 1_000,
  /** How long `PortMapperRegistration.start()` tries before it gives up. */
  startTimeoutMs: 5_000,
} as const);
