/**
 * User-facing texts of the TCP dist, kept in one place so they can be found and improved. None
 * of them may hold the cookie or a digest; names quoted here were validated before.
 */
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
  linkClosedLog: (peer: string, why: string) => `Link to ${peer} closed: ${why}`,
  noData: (peer: string, ms: number) => `No data from ${peer} for ${ms} ms.`,
  unexpectedFrame: (type: number, where: string) => `Unexpected frame ${type} ${where}.`,
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
} as const;
