/**
 * User-facing texts of the TCP dist, kept in one place so they can be found and improved. None
 * of them may hold the cookie or a digest; names quoted here were validated before.
 */
import { parseNodeName } from '../../core/index.js';

/** User-facing texts of the TCP dist (see the file header). */
export const TcpMessages = {
  // Framing.
  frameEmpty: () => 'Received a frame with length 0; every frame carries at least a type byte.',
  frameTooLarge: (length: number, max: number) =>
    `Received a frame of ${length} bytes; the limit on this connection is ${max} bytes.`,
  frameHandlerFailed: (error: unknown) =>
    `Handling a received frame failed: ${error instanceof Error ? error.message : String(error)}`,
  frameTypeInvalid: (type: unknown) =>
    `Invalid frame type ${String(type)}: expected an integer from 0 to 255.`,
  payloadTooLarge: (length: number) =>
    `Invalid frame payload length ${length}: expected an integer from 0 to 4294967294.`,

  // Handshake configuration (thrown at construction).
  cookieInvalid: () => 'Invalid option cookie: expected a non-empty string or Buffer.',
  nameTooLong: (name: string) =>
    `Invalid node name "${name}": at most 255 bytes are allowed in the handshake.`,

  // Handshake failures.
  malformed: (why: string) => `Malformed handshake message: ${why}.`,
  unexpected: (kind: string, state: string) =>
    `Unexpected handshake message "${kind}" while ${state}.`,
  notStarted: () => 'Handshake message received before the handshake was started.',
  alreadyStarted: () => 'The handshake was already started.',
  over: () => 'The handshake is over; no further handshake message is expected.',
  badCookieFromInitiator: (claimed: string) =>
    `Connection attempt from ${claimed} (unauthenticated name) refused: bad cookie. Check that both nodes use the same cookie.`,
  badCookieFromAcceptor: (node: string) =>
    `Node ${node} failed to prove the cookie (bad cookie in its acknowledgement); connection dropped. Check that both nodes use the same cookie.`,
  badCookieRefused: (node: string) =>
    `Node ${node} refused the connection: bad cookie. Check that both nodes use the same cookie.`,
  versionMismatch: (node: string, ours: string, theirs: string | undefined) =>
    `No common handshake protocol version with ${node}: we speak ${ours}${theirs === undefined ? '' : `, it speaks ${theirs}`}.`,
  timingMismatch: (
    node: string,
    ours: { heartbeatMs: number; failureTimeoutMs: number },
    theirs: { heartbeatMs: number; failureTimeoutMs: number } | undefined,
  ) =>
    `Timing mismatch with ${node}: this node uses heartbeatMs=${ours.heartbeatMs} failureTimeoutMs=${ours.failureTimeoutMs}` +
    (theirs === undefined
      ? ', the peer uses other values'
      : `, the peer uses heartbeatMs=${theirs.heartbeatMs} failureTimeoutMs=${theirs.failureTimeoutMs}`) +
    '. All nodes of a cluster must share both values.',
  nameMismatch: (dialled: string, actual: string | undefined) =>
    `Dialled ${dialled} but the node there is ${actual ?? 'another node'}; check discovery and the node names.`,
  nameMismatchAcceptor: (self: string, expected: string, claimed: string) =>
    `Connection attempt from ${claimed} (unauthenticated name) refused: it dialled ${expected}, but this node is ${self}.`,
  selfConnection: (node: string) => `Node ${node} dialled itself; connection refused.`,
  duplicateName: (node: string) =>
    `Another node named ${node} is already a member of the cluster (or it is this node's own name); node names must be unique.`,
  refusedByPeer: (node: string, reason: string) =>
    `Node ${node} refused the connection (reason "${reason}").`,
  refusedByUs: (node: string, reason: string) =>
    `Connection from ${node} refused after authentication (reason "${reason}").`,
  decideFailed: (node: string, error: unknown) =>
    `Deciding on the connection from ${node} failed: ${error instanceof Error ? error.message : String(error)}`,
  internal: (error: unknown) =>
    `Handshake failed internally: ${error instanceof Error ? error.message : String(error)}`,
  timeout: (node: string, stage: string, ms: number) =>
    `Handshake with ${node} timed out after ${ms} ms while ${stage}.`,

  // Links.
  connectFailed: (node: string, remote: string, why: string) =>
    `Could not connect to ${node} at ${remote}: ${why}.`,
  connectTimeout: (node: string, remote: string, ms: number) =>
    `Could not connect to ${node} at ${remote} within ${ms} ms.`,
  closedDuringHandshake: (remote: string) => `Connection to ${remote} closed during the handshake.`,
  handshakeTimedOut: (remote: string, what: string) =>
    `Handshake with ${remote} timed out (${what}).`,
  linkClosed: (peer: string) => `Connection to ${peer} is closed.`,
  payloadDetached: () =>
    'A queued message can no longer be written: the memory of its Buffer or typed-array payload was detached or resized after it was sent (do not transfer, detach or resize a payload until the link has written it); the link is closed, since its peer expects the bytes already announced.',
  linkClosedLog: (peer: string, why: string) => `Link to ${peer} closed: ${why}`,
  noData: (peer: string, ms: number) => `No data from ${peer} for ${ms} ms.`,
  receiveDeadline: (
    peer: string,
    overdue: { unit: string; bytes: number; elapsedMs: number; allowedMs: number },
  ) => {
    const [elapsed, allowed] = [Math.round(overdue.elapsedMs), Math.round(overdue.allowedMs)];
    return overdue.unit === 'fragment'
      ? `No fragment of a message in progress from ${peer} for ${elapsed} ms, although the link carried only ${overdue.bytes} bytes meanwhile (${allowed} ms allowed).`
      : `${overdue.unit === 'frame' ? 'A frame' : 'A fragmented message'} from ${peer} made too little progress: ${overdue.bytes} bytes in ${elapsed} ms (${allowed} ms allowed: the failure timeout plus the bytes at the minimum receive rate).`;
  },
  unexpectedFrameInHandshake: (type: number) => `Unexpected frame ${type} during the handshake.`,
  unexpectedFrameBeforeLink: (type: number) =>
    `Unexpected frame ${type} outside of an established link.`,
  tooManyEarlyFrames: (remote: string) =>
    `${remote} sent too much before this side finished the handshake.`,
  unknownFrame: (type: number) => `Unknown frame type ${type}.`,
  malformedControl: () => 'Malformed control frame.',
  truncatedFragment: () => 'Truncated fragment.',
  tooManyPartials: () => 'Too many fragmented messages at once.',
  partialsTooLarge: (max: number) =>
    `Fragmented messages being reassembled exceed maxMessageBytes (${max}) in all.`,
  controlQueueFull: (peer: string, bytes: number) =>
    `Control queue to ${peer} is full (${bytes} bytes); a control message was dropped.`,
  noPort: (node: string) =>
    `No port known for ${node}: give peers a port (name@host:port) or set a fixed GEN_CLUSTER_PORT.`,
  dialAborted: (node: string) => `Connecting to ${node} was aborted.`,
  badPeerEntry: (from: string, why: string) => `Ignored a peer entry from ${from}: ${why}`,
  transitiveDropped: (from: string, count: number, max: number) =>
    `Transitive connect: ${count} peer(s) learnt from ${from} not dialled now (at most ${max} dials at once); discovery will find them.`,
  transitiveFailed: (node: string, from: string, why: string) =>
    `Transitive connect to ${node} (learnt from ${from}) failed: ${why}`,
  handshakeFailed: (peer: string, why: string) => `Handshake with ${peer} failed: ${why}`,
  handshakeTotalLimit: (ms: number) => `${ms} ms in all`,
  handshakeStepLimit: (ms: number) => `${ms} ms for one step`,
  noPong: (peer: string, ms: number) => `No answer from ${peer} to a ping within ${ms} ms.`,
  linkWaitTimedOut: (node: string, ms: number) => `No link to ${node} came up within ${ms} ms.`,
  adoptFailed: (remote: string, why: string) => `Adopting the link from ${remote} failed: ${why}`,

  // Listener.
  listenerError: (why: string) => `Dist listener error: ${why}`,
  tooManyHandshakes: (ip: string) =>
    `Refused a connection from ${ip}: too many handshakes in progress.`,

  // Send queue.
  messageTooLarge: (peer: string, bytes: number, max: number) =>
    `Message of ${bytes} bytes to ${peer} exceeds maxMessageBytes (${max}); it was not sent. Retrying will not help: send less, or raise maxMessageBytes.`,
  queueFull: (peer: string, messages: number, bytes: number) =>
    `Send queue to ${peer} is full (${messages} messages, ${bytes} bytes).`,

  // The dist.
  distNotStarted: () => 'The TCP dist is not started.',
  listening: (address: string, port: number, self: string, tls: string) =>
    `Dist listening on ${address}:${port} as ${self}${tls}.`,
  listeningTls: (mutual: boolean, minVersion: string) =>
    ` over ${mutual ? 'mutual ' : ''}TLS (${minVersion} or later)`,
  unresolvable: (host: string) => `Cannot resolve ${host} with the configured DNS servers.`,
  failureNotAboveHeartbeat: (heartbeatMs: number) => `more than heartbeatMs (${heartbeatMs})`,
  notAnIp: () => 'an IPv4 or IPv6 address',
  queueBelowMessages: (count: number, maxMessageBytes: number) =>
    `at least ${count} × maxMessageBytes (${count * maxMessageBytes}), so the queue holds ${count} messages of the largest size; lower maxMessageBytes to use a smaller queue`,

  // Cookie.
  cookieNotAString: (type: string) =>
    `Invalid option cookie: received a value of type ${type}; expected a non-empty string.`,
  cookieEmpty: () => 'The cookie must not be empty.',
  cookieFileOpen: (file: string, mode: number) =>
    `Cookie file ${file} may be read by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`,
  cookieFileUnreadable: (file: string, why: string) =>
    `Cannot read the cookie file ${file} (GEN_CLUSTER_COOKIE_FILE): ${why}`,
  cookieFileEmpty: (file: string) => `The cookie file ${file} is empty.`,
  cookieFileNotCreated: (file: string, why: string) =>
    `Cannot create the cookie file ${file}: ${why}`,
  cookieFileIsDirectory: (file: string) =>
    `The cookie file ${file} (option cookieFile, variable GEN_CLUSTER_COOKIE_FILE) is a directory; it must name the file that holds the cookie (one line, mode 600). Point it at that file, or give the cookie itself (option cookie, variable GEN_CLUSTER_COOKIE).`,
  defaultCookieFileIsDirectory: (file: string) =>
    `The default cookie file ${file} is a directory, so no cookie can be read or created there. Remove or rename that directory (a new cookie file is then created in its place), or name a cookie file (option cookieFile, variable GEN_CLUSTER_COOKIE_FILE), or give the cookie itself (option cookie, variable GEN_CLUSTER_COOKIE).`,

  // Listening (thrown by start, each naming the setting to change).
  portInUse: (address: string, port: number) =>
    `Cannot start the cluster: port ${port} on ${address} is already in use. It is the cluster's dist port (option port, variable GEN_CLUSTER_PORT), where peers connect to this node. Stop the process that holds it (another node on this host with the same port?), or choose a free port; with local discovery, port 0 (the default) lets the system pick one.`,
  portNotPermitted: (address: string, port: number) =>
    `Cannot start the cluster: this process may not listen on port ${port} of ${address} (ports below 1024 need privileges). It is the cluster's dist port (option port, variable GEN_CLUSTER_PORT): choose a port from 1024 up, or 0 with local discovery.`,
  bindNotLocal: (address: string, local: string) =>
    `Cannot start the cluster: ${address} is not an address of this machine, so the dist cannot listen on it (option bind, variable GEN_CLUSTER_BIND). Set it to one of this machine's addresses (${local}), or to 0.0.0.0 (or ::) to listen on every interface.`,
  nodeHostNotLocal: (self: string, address: string, local: string) =>
    `Cannot start the cluster: the host of the node name ${self} (option node, variable GEN_CLUSTER_NODE) is ${address}, which is not an address of this machine; with no bind address set, the dist listens on the node's host when it is an IP. If peers reach this node at ${address} through NAT or a proxy, keep the name and set the listen address with GEN_CLUSTER_BIND (option bind) to one of this machine's addresses (${local}) or 0.0.0.0; otherwise put one of these addresses in the node name.`,
  listenFailed: (address: string, port: number, why: string) =>
    `Cannot start the cluster: the dist cannot listen on ${address} port ${port} (options bind and port, variables GEN_CLUSTER_BIND and GEN_CLUSTER_PORT): ${why}`,
  allInterfaces: () => 'every interface',
  noLocalAddress: () => 'none found',
} as const;

const invalidTlsOption = (option: string, received: string, expected: string) =>
  `Invalid option ${option}: received ${received}; expected ${expected}.`;

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Texts of TLS configuration errors and failures; none of them holds key material (values are
 * described by `tls-options.ts` before they get here).
 */
export const TlsMessages = {
  // Configuration, thrown at construction.
  notAnObject: (received: string) =>
    invalidTlsOption('tls', received, 'an object with cert and key (or certFile and keyFile)'),
  notBoolean: (option: string, received: string) =>
    invalidTlsOption(option, received, 'true or false'),
  minVersion: (received: string) =>
    invalidTlsOption('tls.minVersion', received, '"TLSv1.2" or "TLSv1.3" (TLS 1.2 is the floor)'),
  noCredentials: () =>
    invalidTlsOption(
      'tls.cert',
      'nothing',
      'a PEM certificate (tls.cert or tls.certFile) and its key',
    ),
  noCertificate: () =>
    invalidTlsOption(
      'tls.cert',
      'nothing',
      'a PEM certificate (tls.cert or tls.certFile) with tls.key',
    ),
  noKey: () =>
    invalidTlsOption(
      'tls.key',
      'nothing',
      'the PEM private key (tls.key or tls.keyFile) of tls.cert',
    ),
  notCertificate: (option: string, received: string) =>
    invalidTlsOption(option, received, 'a PEM certificate'),
  unusableKey: (option: string) =>
    invalidTlsOption(option, 'an unusable key', 'an unencrypted PEM private key'),
  foreignKey: (option: string, certOption: string) =>
    invalidTlsOption(option, 'a key of another certificate', `the private key of ${certOption}`),
  noCa: () =>
    invalidTlsOption(
      'tls.ca',
      'nothing',
      "the CA certificates (tls.ca or tls.caFile) that sign the nodes' certificates, required with mutual TLS (tls.mutual, on by default)",
    ),
  unloadable: (error: unknown) =>
    invalidTlsOption(
      'tls',
      `credentials Node cannot load (${errorText(error)})`,
      'PEM credentials',
    ),
  both: (inline: string, file: string) =>
    invalidTlsOption(`tls.${inline}`, `both tls.${inline} and tls.${file}`, 'one of them'),
  notPem: (option: string, received: string) =>
    invalidTlsOption(option, received, 'a non-empty PEM string or Buffer'),
  notPath: (option: string, received: string) => invalidTlsOption(option, received, 'a file path'),
  emptyFile: (option: string, file: string) =>
    invalidTlsOption(option, `the empty file ${JSON.stringify(file)}`, 'a PEM file'),
  notCa: (option: string, received: string) =>
    invalidTlsOption(option, received, 'PEM CA certificates'),
  malformedCa: (option: string) =>
    invalidTlsOption(option, 'a malformed PEM certificate', 'PEM CA certificates'),
  unreadable: (option: string, file: string, error: unknown) =>
    `Invalid option ${option}: cannot read ${JSON.stringify(file)} (${errorText(error)}); expected a readable PEM file.`,
  ownName: (node: string, names: string) =>
    `Invalid option tls.cert: the certificate names ${names}, not the host of this node ${node}; peers verifying node names would refuse it. Use a certificate for this host, or set tls.verifyNodeName to false.`,

  // How configuration values are described without quoting them.
  nothing: () => 'nothing',
  someString: (length: number) => `a string of ${length} characters`,
  someBuffer: (length: number) => `a Buffer of ${length} bytes`,
  noAltName: () => 'no subject alternative name',

  // Failures.
  failed: (peer: string, reason: string, detail: string) =>
    `TLS handshake with ${peer} failed (reason "${reason}"): ${detail}`,
  timeout: (ms: number) => `no TLS handshake within ${ms} ms`,
  closed: () =>
    'the peer closed the connection during the TLS handshake (is TLS enabled on every node?)',
  notTls: (detail: string) =>
    `the peer does not speak TLS (${detail}); is TLS enabled on every node?`,
  closedAfterTls: (node: string) =>
    `TLS handshake with ${node} failed (reason "closed"): the peer closed the connection right after the TLS handshake; it probably refused this node's certificate (see its log).`,
  serverName: (node: string, detail: string) =>
    `the certificate of ${node} does not name its host: ${detail}`,
  clientName: (remote: string, node: string, names: string) =>
    `Connection from ${remote} refused: it proved the cookie as ${node}, but its TLS certificate names ${names}, not ${parseNodeName(node).host} (reason "certificate-name").`,
  refusedOurName: (node: string) =>
    `Node ${node} refused the connection (reason "certificate-name"): this node's TLS certificate does not name this node's host.`,
  unauthorized: (remote: string, why: string | undefined) =>
    `Connection from ${remote} refused: its TLS certificate is not trusted (${why ?? 'unverified'}).`,
  clientUnverified: (code: string) => `the client certificate failed verification (${code})`,
  noClientCertificate: () => 'no certificate',
  unknownAddress: () => 'an unknown address',
  unreachable: (node: string, why: string) => `Could not reach ${node}: ${why}`,
  unreachableWithin: (node: string, ms: number) => `Could not reach ${node} within ${ms} ms.`,
} as const;
