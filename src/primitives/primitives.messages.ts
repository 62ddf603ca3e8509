/**
 * User-facing texts of the primitives layer (error messages and log lines), kept in one place.
 */
import { describeValue } from '../core/index.js';

export const PrimitivesMessages = {
  noServer: (topic: string, tried: readonly string[]) =>
    `No connected node serves topic ${JSON.stringify(topic)}${tried.length > 0 ? ` (tried: ${tried.join(', ')})` : ''}. Nodes announce their topics when they connect; wait for them with waitForServers().`,
  waitForServersTimeout: (topic: string, count: number, ms: number, have: number) =>
    `Timed out after ${ms} ms waiting for ${count} node(s) serving topic ${JSON.stringify(topic)} (${have} serve it now).`,
  registryClosed: () => 'The service registry is closed.',
  registryUnsupported: () =>
    'The messaging layer does not report its local topics (localTopics), which the service registry needs; use a dist built on gen-cluster Messaging, or offer LocalTopicsView.',
  peerUnaware: (node: string) =>
    `Node ${node} runs no service registry (an older version): it is never a server here and gets no registry messages.`,
  helloFailed: (node: string, reason: string, retryInMs: number) =>
    `Service registry: asking ${node} for its topics failed (${reason}); retrying in ${retryInMs} ms.`,
  helloInvalid: (node: string) =>
    `Service registry: ${node} answered the hello with a malformed table; asking again.`,
  tooManyEntries: (node: string, max: number, dropped: number) =>
    `Service registry: ${node} announced more than ${max} entries; ${dropped} dropped.`,
  reservedEntries: (node: string, count: number) =>
    `Service registry: ${node} announced ${count} reserved ($gc.) name(s); dropped.`,
  hrwMismatch: (node: string, theirs: number, ours: number) =>
    `Service registry: ${node} hashes keys with rendezvous version ${theirs}, this node with ${ours}; ownerOf() may disagree with that node.`,
  deltaGap: (node: string, expected: number, got: number) =>
    `Service registry: change ${got} from ${node} where ${expected} was due (a gap or a restart); asking for its table again.`,
  deltaOverflow: (node: string, maxDeltas: number, maxEntries: number) =>
    `Service registry: more than ${maxDeltas} changes or ${maxEntries} entries from ${node} arrived before its table; asking for its table again.`,
  deltaFromNonMember: (node: string) =>
    `Service registry: change from ${node}, which is not a member here; dropped.`,
  deltaInvalid: (node: string) => `Service registry: malformed change from ${node}; dropped.`,
  deltaRefused: (node: string, reason: string, retryInMs: number) =>
    `Service registry: a change could not be queued to ${node} (${reason}); sending the whole table in ${retryInMs} ms.`,
  drainUnacked: (nodes: readonly string[], ms: number) =>
    `Drain: ${nodes.length} node(s) did not acknowledge the withdrawal within ${ms} ms (${nodes.join(', ')}); they may still route a call here until they see this node leave.`,
  drainServingLeft: (count: number, ms: number) =>
    `Drain: ${count} request(s) still being served after ${ms} ms; leaving anyway.`,
  drainDone: (acked: number, ms: number) =>
    `Drain: topics withdrawn (${acked} node(s) acknowledged) and no request in flight after ${ms} ms.`,

  // Calls (service-caller.ts; added by the calls engineer).
  callTimeout: (topic: string, ms: number, tried: readonly string[]) =>
    `Call ${JSON.stringify(topic)} got no answer within ${ms} ms (tried: ${tried.join(', ')}).`,

  // Registry entries and process groups (registry-entries.ts, process-groups.ts).
  entryKindInvalid: (kind: unknown) =>
    `Registry entry kind ${describeValue(kind)} is not one of "group", "term".`,
  entryNameInvalid: (kind: string, name: unknown, max: number) =>
    `The ${kind} name ${describeValue(name)} is not a non-empty string of at most ${max} characters.`,
  entryNameReserved: (kind: string, name: string, prefix: string) =>
    `The ${kind} name ${JSON.stringify(name)} starts with ${JSON.stringify(prefix)}, which is reserved for the library.`,
  entriesFull: (kind: string, name: string, max: number) =>
    `Cannot announce ${kind} ${JSON.stringify(name)}: this node already announces ${max} registry entries (topics included), as many as a peer keeps of one node.`,
  groupPublishFailed: (group: string, node: string, topic: string, code: string) =>
    `Process groups: publishing ${JSON.stringify(topic)} to ${node} (group ${JSON.stringify(group)}) failed (${code}).`,
} as const;
