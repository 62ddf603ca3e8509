/**
 * User-facing texts of the NATS dist, kept in one place so they can be found and improved. None
 * of them may hold the cookie, a key or a credential.
 */

/** User-facing texts of the NATS dist (see the file header). */
export const NatsDistMessages = {
  notStarted: () => 'The NATS dist is not started: messaging works once the cluster started.',
  nodeDown: (node: string) => `Node ${node} is not a member reachable over NATS.`,
  cutOff: (node: string) =>
    `Node ${node} cannot be reached: this node is cut off from NATS (it reconnects by itself).`,
  payloadRefused: (node: string) =>
    `The message to ${node} was refused by the NATS server as over its max_payload twice (the server's limit changed while sending); it was not sent.`,
  queueFull: (node: string, pending: number, limit: number) =>
    `The NATS client's outgoing buffer holds ${pending} bytes, over the ${limit}-byte limit (maxQueueBytes); the message to ${node} was not sent. Slow down, or check the connection to NATS.`,
  messageTooLarge: (node: string, bytes: number, limit: number) =>
    `A message of ${bytes} bytes to ${node} exceeds the ${limit}-byte message limit (maxMessageBytes); it was not sent. Retrying will not help: send less, or raise the limit.`,
  discoveryCutOff: () =>
    'The NATS dist is cut off from NATS: it cannot tell who is present (the last answer stands).',
  discoveryNotStarted: () => 'The NATS dist has not started yet: no presence heard.',
  failureNotAboveHeartbeat: (heartbeatMs: number) =>
    `at least twice heartbeatIntervalMs (${heartbeatMs}), so one lost heartbeat never declares a node down`,
  unknownOption: (key: string) => `a known option of the NATS dist (is "${key}" misspelt?)`,
  queueBelowMessage: (maxMessageBytes: number) =>
    `at least maxMessageBytes (${maxMessageBytes}), so a largest message can be sent`,
  started: (self: string, namespace: string, auth: string) =>
    `NATS dist started as ${self} in namespace "${namespace}" (messages: ${auth}).`,
  refused: (what: string, reason: string) =>
    `Dropped a ${what} received over NATS: ${reason} (counted in stats; this line is rate-limited).`,
  duplicateName: (node: string) =>
    `Another start of node ${node} announces itself over NATS: two live nodes may not share a name.`,
  duplicatePeer: (node: string) =>
    `Two starts of node ${node} announce themselves over NATS at once: the later start is kept; two live nodes may not share a name.`,
  trackerFull: (max: number) =>
    `Presence of more than ${max} nodes heard over NATS: new ones are ignored until others leave.`,
  echoLostReason: (ms: number) =>
    `this node's own presence has not come back from NATS for ${ms} ms`,
  echoLost: (ms: number) =>
    `This node's own presence has not come back from NATS for ${ms} ms although the client still counts as connected: membership is frozen until it does (or until the client reconnects).`,
  handlerFailed: (what: string, error: unknown) =>
    `Handling a ${what} received over NATS failed: ${error instanceof Error ? error.message : String(error)}`,
  publishFailed: (what: string, error: unknown) =>
    `Publishing ${what} over NATS failed: ${error instanceof Error ? error.message : String(error)}`,
} as const;
