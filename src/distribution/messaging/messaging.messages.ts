import { CoreMessages, describeValue } from '../../core/index.js';

/**
 * User-facing texts of the messaging layer (error messages and log lines), kept in one place so
 * they can be found and improved. Payload contents are never quoted in them: only sizes, depths,
 * names and codes. Values are rendered by core's `describeValue`, which hides secrets.
 */
export const MessagingMessages = {
  // Options.
  selfInvalid: (value: unknown) =>
    CoreMessages.invalidOption('self', value, 'a node name, "name@host"'),
  transportInvalid: (value: unknown) =>
    CoreMessages.invalidOption('transport', value, 'an object with send() and members() methods'),
  codecUnknown: (value: unknown) =>
    CoreMessages.invalidOption(
      'codec',
      value,
      '"msgpack", "json" or an object with name, encode(value) and decode(bytes)',
    ),
  handlerInvalid: (value: unknown) =>
    `Invalid handler: received ${describeValue(value)}; expected a function.`,

  // Payload codecs.
  encodeFailed: (codec: string, why: string) => `Cannot encode the payload with ${codec}: ${why}.`,
  decodeFailed: (codec: string, why: string) => `Cannot decode a ${codec} payload: ${why}.`,
  unencodable: (type: string, at: string) =>
    `a ${type} cannot be sent${at === '' ? '' : ` (at key ${JSON.stringify(at)})`}`,
  forbiddenKey: (key: string) =>
    `the key ${JSON.stringify(key)} is refused (it could alter an object's prototype)`,
  tooDeep: (codec: string, max: number, encoding: boolean) =>
    `The payload is nested deeper than ${max} levels, the limit of the ${codec} codec; ${encoding ? 'it was not sent' : 'it was refused'}.`,
  codecResult: (codec: string, what: string) =>
    `Codec "${codec}" returned ${what} from encode(); expected a Buffer or Uint8Array.`,
  structuredTooLarge: (codec: string, bytes: number, limit: number) =>
    `The payload is a structured value of ${bytes} bytes or more once encoded with ${codec}, over maxStructuredPayloadBytes (${limit}); it was not sent. Retrying will not help: send the bulk as a Buffer or typed array (passed through without encoding, up to maxMessageBytes), or send less.`,
  structuredTooLargeReceived: (codec: string, bytes: number, limit: number) =>
    `Refused a structured ${codec} payload of ${bytes} bytes, over maxStructuredPayloadBytes (${limit}).`,
  tooCostly: (codec: string, cost: number, budget: number, bytes: number) =>
    `Refused a ${codec} payload of ${bytes} bytes: it would decode into too many objects (cost ${cost}, budget ${budget} for its size).`,
  structuredLimitInvalid: (value: unknown, max: number) =>
    CoreMessages.invalidOption(
      'maxStructuredPayloadBytes',
      value,
      `an integer from 1 to ${max} (maxMessageBytes, the largest message)`,
    ),
  // A built-in codec's depth refusal; the user sees `tooDeep` instead.
  nestedTooDeep: () => 'nested too deep',

  // Why the msgpack scanner refuses bytes (the end of a `decodeFailed` or `encodeFailed` text).
  scanTruncated: () => 'truncated data',
  scanTrailingBytes: (count: number) => `${count} bytes after the value`,
  scanUnsupportedToken: (token: number) => `unsupported token 0x${token.toString(16)}`,
  scanUnsupportedExtension: (type: number) => `unsupported extension type ${type}`,
  scanExtensionWithoutArray: () => 'an extension is not followed by an array',
  scanReferenceToReference: () => 'a reference is followed by a reference',
  scanEmptyExtension: () => 'empty extension',
  scanMalformedPointer: () => 'malformed pointer',
  scanMalformedReferenceId: () => 'malformed reference id',
  scanMalformedExtension: () => 'malformed extension',
  scanUnsupportedRecordDefinition: () => 'unsupported record definition',
  scanMalformedRecordDefinition: () => 'malformed record definition',
  scanRecordKeyNotString: () => 'a record key is not a string',
  scanErrorNameNotString: () => 'an error name is not a string',
  scanRefusedErrorName: (name: string) => `refused error name ${JSON.stringify(name)}`,

  // Envelope.
  envelopeTruncated: (length: number, needed: number) =>
    `Malformed envelope: ${length} bytes, at least ${needed} needed.`,
  envelopeKind: (kind: number) => `Malformed envelope: unknown kind ${kind}.`,
  envelopeTopicTooLong: (length: number, max: number) =>
    `Malformed envelope: topic of ${length} bytes, at most ${max} allowed.`,
  envelopeTopicUtf8: () => 'Malformed envelope: the topic is not valid UTF-8.',
  envelopeHeadersTooLong: (length: number, max: number) =>
    `Malformed envelope: headers of ${length} bytes, at most ${max} allowed.`,
  headerCount: (count: number, max: number) =>
    `Bad message headers: ${count} headers, at most ${max} allowed.`,
  headerKey: (key: string, max: number) =>
    `Bad message headers: the key ${JSON.stringify(key.slice(0, 80))} is not 1 to ${max} characters among a-z, 0-9, "-" and "_".`,
  headerValue: (key: string) => `Bad message headers: the value of "${key}" is not a string.`,
  headerValueTooLong: (key: string, length: number, max: number) =>
    `Bad message headers: the value of "${key}" is ${length} bytes, at most ${max} allowed.`,
  headerValueUtf8: (key: string) =>
    `Bad message headers: the value of "${key}" is not valid UTF-8.`,
  headerRepeated: (key: string) => `Bad message headers: the key "${key}" is repeated.`,
  headersTooLarge: (length: number, max: number) =>
    `Bad message headers: ${length} bytes encoded, 1 to ${max} allowed.`,
  headersTruncated: () => 'Bad message headers: truncated.',
  headersTrailing: (extra: number) => `Bad message headers: ${extra} bytes after the last header.`,
  headersDropped: (topic: string, why: string) =>
    `Instrumentation headers of a message on "${topic}" were dropped (the message went with the others, if any): ${why}`,
  envelopeKindInvalid: (kind: unknown) =>
    `Invalid envelope kind ${describeValue(kind)}: expected 1 (send), 2 (request), 3 (response) or 4 (error response); headers go with 1 or 2 only.`,
  envelopeRequestIdInvalid: (id: unknown, max: number) =>
    `Invalid request id ${describeValue(id)}: expected an integer from 0 to ${max}.`,
  envelopeBodyInvalid: () => 'Invalid envelope body: expected a Buffer or an array of Buffers.',
  topicInvalid: (topic: unknown, max: number) =>
    `Invalid topic ${describeValue(topic)}: expected a non-empty string of at most ${max} UTF-8 bytes.`,
  topicReserved: (topic: string, prefix: string) =>
    `Topic "${topic}" starts with "${prefix}", the prefix reserved for gen-cluster's internal topics; choose another name.`,

  // Requests.
  requestTimeout: (node: string, topic: string, ms: number) =>
    `Request "${topic}" to ${node} got no answer within ${ms} ms.`,
  requestAborted: (node: string, topic: string) =>
    `Request "${topic}" to ${node} was aborted by its signal.`,
  remoteHandler: (node: string, topic: string, name: string, message: string, code?: string) =>
    `The handler of "${topic}" on ${node} failed: ${name}${code === undefined ? '' : ` [${code}]`}: ${message}`,
  noHandler: (node: string, topic: string) => `Node ${node} has no handler for topic "${topic}".`,
  tooManyRequests: (max: number) =>
    `Too many requests awaiting an answer (limit ${max}); the request was not sent.`,
  requestAllAborted: (topic: string) =>
    `requestAll "${topic}" was aborted by its signal before it asked any node.`,
  notMember: (node: string, topic: string) =>
    `Node ${node} is not a connected member (unknown, hidden or down); request "${topic}" was not sent to it.`,
  requestAllNodesInvalid: (value: unknown) =>
    CoreMessages.invalidOption('nodes', value, 'an array of node names (non-empty strings)'),
  broadcastNodesInvalid: (value: unknown) =>
    CoreMessages.invalidOption('nodes', value, 'an array of node names (non-empty strings)'),
  includeSelfInvalid: (value: unknown) =>
    CoreMessages.invalidOption('includeSelf', value, 'true or false'),
  requesterDown: (node: string, topic: string) =>
    `Node ${node} went down while this node was handling its request "${topic}".`,
  subscribeUnsupported: () =>
    'The messaging layer this cluster started with has no subscribe(); subscribers registered before start cannot be kept.',
  requestAllUnsupported: () => 'The messaging layer this cluster started with has no requestAll().',
  duplicateHandler: (topic: string) =>
    `A handler for topic "${topic}" is already registered; unregister it first (one handler per topic).`,
  closed: () => 'Messaging is closed: the cluster is stopped.',

  // Logs.
  badEnvelope: (from: string, why: string) => `Dropped a message from ${from}: ${why}`,
  noHandlerForSend: (from: string, topic: string) =>
    `Dropped a message from ${from} on topic "${topic}": no handler is registered for it.`,
  sendPayloadRefused: (from: string, topic: string, why: string) =>
    `Dropped a message from ${from} on topic "${topic}": ${why}`,
  sendHandlerFailed: (from: string, topic: string, error: unknown) =>
    `The handler of "${topic}" failed on a message from ${from}: ${errorText(error)}`,
  requestHandlerFailed: (from: string, topic: string, error: unknown) =>
    `The handler of "${topic}" failed on a request from ${from}; the error was sent back: ${errorText(error)}`,
  requestHandlerRefused: (from: string, topic: string, status: number, error: unknown) =>
    `The handler of "${topic}" refused a request from ${from} with status ${status}; the error was sent back: ${errorText(error)}`,
  subscriberFailed: (from: string, topic: string, error: unknown) =>
    `A subscriber of "${topic}" failed on a message from ${from}; the other receivers still ran: ${errorText(error)}`,
  replyFailed: (to: string, error: unknown) =>
    `Could not send a response to ${to}: ${errorText(error)}`,
  lateResponse: (from: string, id: number) =>
    `Dropped a response from ${from} to request ${id}: the request is no longer pending (timed out, aborted or unknown).`,
  broadcastFailed: (node: string, topic: string, error: unknown) =>
    `Broadcast of "${topic}" not queued for ${node}: ${errorText(error)}`,
  instrumentationFailed: (hook: string, error: unknown) =>
    `An instrumentation hook (${hook}) failed; it was skipped for this message, which went on: ${errorText(error)}`,
  runSkippedHandler: () => 'its run() returned without calling the handler',
  instrumentInvalid: (value: unknown) =>
    `Invalid instrumentation hooks: received ${describeValue(value)}; expected an object whose outgoing and incoming members, when set, are functions.`,
  receiveFailed: (from: string, error: unknown) =>
    `Handling a message from ${from} failed: ${errorText(error)}`,
  localTopicsListenerFailed: (topic: string, added: boolean, error: unknown) =>
    `A watcher of this node's topics failed on "${topic}" (${added ? 'added' : 'removed'}); the other watchers still ran: ${errorText(error)}`,
  receivedAfterClose: (from: string) => `Dropped a message from ${from}: messaging is closed.`,

  // A thrown value that cannot be rendered, in a log line or an error response.
  unprintableError: () => 'unprintable error',
} as const;

/** A thrown value as a log line shows it: `name: message` for an error. Never throws. */
function errorText(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    return String(error);
  } catch {
    return MessagingMessages.unprintableError();
  }
}
