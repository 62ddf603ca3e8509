/**
 * User-facing texts of the port mapper layer (the EPMD codec, the server, the client and the
 * registration), kept in one place so they can be found and improved.
 */
import { describeValue } from '../core/index.js';

/** The parts of the port mapper whose options are checked, as refusals name them. */
export type PortMapperComponent = 'client' | 'server' | 'registration';

/** The port mapper's message catalog: each entry builds one text from its structured fields. */
export const PortMapperMessages = {
  /** How a refusal names an option: `port mapper (server).packetTimeoutMs`. */
  optionName: (component: PortMapperComponent, key: string) => `port mapper (${component}).${key}`,
  acceptedOptions: () => 'an object such as { name: "app", port: 40123 }',
  acceptedName: (why: string) => `a node name or its part before "@" (${why})`,
  acceptedHost: () => 'a loopback address such as "127.0.0.1" or "::1"',
  acceptedBind: () =>
    'an IP address: "127.0.0.1" (loopback only), "0.0.0.0" or "::" (every interface), or one interface\'s, such as "10.0.0.5"',
  namespaceWithoutExtra: () =>
    'a namespace without the extra option: the namespace is written into the Extra field',

  // The EPMD codec.
  frameLength: (length: number, max: number) =>
    `Invalid EPMD request length ${length}: expected 1 to ${max} bytes.`,
  truncated: (what: string, need: number, have: number) =>
    `Malformed EPMD ${what}: needs ${need} bytes, has ${have}.`,
  trailing: (what: string, extra: number) =>
    `Malformed EPMD ${what}: ${extra} byte(s) after the end of the message.`,
  unknownRequest: (code: number) => `Unsupported EPMD request code ${code}.`,
  killRefused: () => 'EPMD KILL_REQ is not supported by this port mapper; answered "NO".',
  unexpectedResponse: (what: string, code: number) =>
    `Unexpected EPMD answer to ${what}: first byte ${code}.`,
  badName: (why: string) => `Invalid EPMD node name: ${why}.`,
  nameNotString: () => 'it is not a string',
  nameLoneSurrogate: () => 'it holds a lone surrogate',
  nameEmpty: () => 'it is empty',
  nameTooManyBytes: (bytes: number, max: number) => `${bytes} bytes, more than ${max}`,
  nameNotUtf8: () => 'it is not valid UTF-8',
  nameNul: () => 'it contains a NUL byte',
  nameControl: () => 'it contains a control character',
  nameTooManyChars: (chars: number, max: number) => `${chars} characters, more than ${max}`,
  badField: (field: string, value: unknown, accepted: string) =>
    `Invalid EPMD ${field} ${describeValue(value)}: expected ${accepted}.`,
  knownRequest: () => 'a known request',
  atMostBytes: (max: number) => `at most ${max} bytes`,
  integerUpTo: (max: number) => `an integer from 0 to ${max}`,
  badNamesLine: (line: string) =>
    `Malformed EPMD NAMES answer line ${JSON.stringify(line.slice(0, 120))}: expected "name <name> at port <port>".`,
  notUtf8Line: () => '(not valid UTF-8)',

  // The server.
  listening: (address: string) => `Port mapper listening on ${address}.`,
  listenFailed: (address: string, error: Error) =>
    `The port mapper could not listen on ${address}: ${error.message}`,
  closedConnection: (remote: string, why: string) =>
    `Port mapper closed a connection from ${remote}: ${why}.`,
  idleConnection: (ms: number) => `no complete request within ${ms} ms`,
  tooManyPending: (max: number) => `more than ${max} connections without a registration`,
  tooManyFromAddress: (address: string, max: number) =>
    `Port mapper closed a new connection from ${address} at once: that address already holds ${max} connections without an answer (maxPendingPerAddress).`,
  bytesOnRegistration: () => 'bytes on a registration connection',
  bytesAfterRequest: () => 'bytes after the request',
  longerThanDeclared: () => 'more bytes than the request length declares',
  nonLoopback: () => 'registration from a non-loopback address',
  registered: (name: string, port: number, creation: number) =>
    `Port mapper registered "${name}" at port ${port} (creation ${creation}).`,
  unregistered: (name: string) => `Port mapper unregistered "${name}".`,
  nonLocalRegister: (remote: string) =>
    `Port mapper refused a registration from ${remote}: only loopback clients may register.`,
  nonLocalCommand: (remote: string, what: string) =>
    `Port mapper ignored ${what} from ${remote}: only loopback clients may send it.`,
  nonLoopbackCommand: () => 'a command from a non-loopback address',
  exposed: (address: string) =>
    `Port mapper listening on ${address}: other hosts can ask it for the names and ports of this host's nodes (registrations and KILL only from loopback).`,
  duplicateName: (name: string) =>
    `Port mapper refused to register "${name}": a live node holds that name.`,
  registryFull: (max: number) =>
    `Port mapper refused a registration: its registry holds the maximum of ${max} names.`,
  bytesOnAlive: (name: string) =>
    `Port mapper received bytes on the registration connection of "${name}"; unregistered it.`,

  // The client.
  alive2Request: (name: string) => `ALIVE2_REQ for "${name}"`,
  portPlease2Request: (name: string) => `PORT_PLEASE2_REQ for "${name}"`,
  namesRequest: () => 'NAMES_REQ',
  connecting: (address: string) => `Connecting to ${address}`,
  unreachable: (address: string, code: string) => `No port mapper answers on ${address} (${code}).`,
  connectTimeout: (address: string, ms: number) =>
    `Connecting to the port mapper on ${address} timed out after ${ms} ms.`,
  requestTimeout: (what: string, address: string, ms: number) =>
    `The port mapper on ${address} did not answer ${what} within ${ms} ms.`,
  closedEarly: (what: string, address: string, why?: string) =>
    `The port mapper on ${address} closed the connection before answering ${what}.${why === undefined ? '' : ` (${why})`}`,
  answerTooLarge: (what: string, address: string, max: number) =>
    `The answer of the port mapper on ${address} to ${what} exceeds ${max} bytes.`,
  invalidAnswer: (what: string, address: string, why: string) =>
    `The port mapper on ${address} answered ${what} with invalid bytes: ${why}`,
  bytesAfterAnswer: (count?: number) =>
    count === undefined ? 'bytes after the answer' : `${count} byte(s) after the answer`,
  nameTaken: (name: string, address: string) =>
    `The port mapper on ${address} refused to register "${name}": a live node on this host already uses that name (or the mapper's registry is full). Give each node on a host its own name.`,
  aborted: (what: string) => `${what} was aborted.`,
  mapperClosed: () => 'the mapper closed the connection',
  registrationDropped: (name: string, address: string, why: string) =>
    `The registration of "${name}" with the port mapper on ${address} was lost (${why}).`,

  // The registration (orchestration).
  becameMapper: (address: string) =>
    `No port mapper answered on ${address}; this process now serves it.`,
  lostRace: (address: string) =>
    `Another process started the port mapper on ${address} first; registering with it.`,
  reRegistering: (name: string, ms: number) =>
    `Re-registering "${name}" with the port mapper in ${ms} ms.`,
  reRegistered: (name: string, address: string) =>
    `Registered "${name}" again with the port mapper on ${address}.`,
  retryFailed: (name: string, error: Error) =>
    `Registering "${name}" with the port mapper failed (${error.message}); retrying.`,
  unavailable: (name: string, address: string, ms: number, last: string) =>
    `Could not register "${name}" with a port mapper on ${address} within ${ms} ms: ${last}`,
  startingUnregistered: (why: string) =>
    `${why} Starting without the port mapper registration (local discovery will not find this node until it succeeds); retrying in the background.`,
  connectionClosed: () => 'connection closed',
  registrationClosed: () => 'The port mapper registration is closed.',
  serverError: (address: string, error: Error) =>
    `The embedded port mapper on ${address} failed: ${error.message}`,
} as const;
