/**
 * Pure encode/decode of the EPMD (Erlang Port Mapper Daemon) messages the port mapper uses, byte
 * for byte as `erts/doc/guides/erl_dist_protocol.md` and `erts/epmd/src/epmd_srv.c` define them.
 * No sockets here: the server and the client feed bytes in and write bytes out.
 *
 * Every request is `Length(2) ‖ Request(Length)`, big-endian; answers are not length-prefixed.
 * Decoders throw only {@link EpmdProtocolError}, whatever the input.
 */
import { isIntegerIn } from '../core/index.js';
import { EpmdProtocolError } from './port-mapper.errors.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';

/** EPMD message codes (the first byte of a request body or of an answer). */
export const EpmdCode = Object.freeze({
  /** `'x'`: register a node; the connection then stays open for as long as the node lives. */
  ALIVE2_REQ: 120,
  /** `'v'`: answer to ALIVE2_REQ with a 32-bit creation (peers of version 6). */
  ALIVE2_X_RESP: 118,
  /** `'y'`: answer to ALIVE2_REQ with a 16-bit creation (older peers). */
  ALIVE2_RESP: 121,
  /** `'z'`: where does a node listen? */
  PORT_PLEASE2_REQ: 122,
  /** `'w'`: answer to PORT_PLEASE2_REQ. */
  PORT2_RESP: 119,
  /** `'n'`: all registered names and ports. */
  NAMES_REQ: 110,
  /** `'k'`: stop the daemon. Refused by this port mapper (answered `"NO"`). */
  KILL_REQ: 107,
} as const);

/** EPMD's `NodeType` values. */
export const EpmdNodeType = Object.freeze({ normal: 77, hidden: 72 } as const);

/** Limits of the EPMD format, as `epmd_int.h` sets them. */
export const EPMD_LIMITS = Object.freeze({
  /** Largest request body: `len + 2` must stay below `INBUF_SIZE` (3 × 1020). */
  maxRequestLength: 3 * 1020 - 3,
  /** `MAXSYMLEN`: a node name's UTF-8 bytes. */
  maxNameBytes: 1020,
  /** A node name's characters (code points). */
  maxNameChars: 255,
  /** Bytes of the `Extra` field of ALIVE2_REQ. */
  maxExtraBytes: 1020,
  /** The creation epmd answers when a registration fails. */
  failedCreation: 99,
} as const);

/** A registered node, as ALIVE2_REQ declares it and PORT2_RESP returns it. */
export interface EpmdNodeInfo {
  /** The node's name: the part of `name@host` before `@`. */
  readonly name: string;
  /** The node's distribution port. */
  readonly port: number;
  /** {@link EpmdNodeType}: 77 normal, 72 hidden. */
  readonly nodeType: number;
  /** 0 for TCP/IPv4 (the only value OTP sends). */
  readonly protocol: number;
  /** Highest distribution version the node speaks (6 from OTP 23). */
  readonly highestVersion: number;
  /** Lowest distribution version the node speaks. */
  readonly lowestVersion: number;
  /** Opaque `Extra` bytes (usually empty). */
  readonly extra: Uint8Array;
}

/** A decoded EPMD request. */
export type EpmdRequest =
  | ({ readonly type: 'alive2' } & EpmdNodeInfo)
  | { readonly type: 'portPlease2'; readonly name: string }
  | { readonly type: 'names' }
  | { readonly type: 'kill' };

/** An answer to ALIVE2_REQ. */
export interface EpmdAlive2Response {
  /** 0: registered; anything else: refused. */
  readonly result: number;
  /** The registration's creation (incarnation) number. */
  readonly creation: number;
  /** `true`: ALIVE2_X_RESP (32-bit creation); `false`: ALIVE2_RESP (16-bit creation). */
  readonly extended: boolean;
}

/** One line of a NAMES answer. */
export interface EpmdNameEntry {
  /** The registered name (the part of a node name before `@`). */
  readonly name: string;
  /** The port the node's distribution listens on. */
  readonly port: number;
}

/** A decoded NAMES answer. */
export interface EpmdNamesResponse {
  /** The port the answering mapper listens on. */
  readonly mapperPort: number;
  /** The registered names, in the order the mapper listed them. */
  readonly names: readonly EpmdNameEntry[];
}

/** A value decoded from the front of a byte stream, and how many bytes it took. */
export interface Decoded<T> {
  /** The decoded value. */
  readonly value: T;
  /** How many bytes of the input it took. */
  readonly length: number;
}

const ALIVE2_FIXED = 13; // code(1) port(2) type(1) proto(1) hi(2) lo(2) nlen(2) elen(2)
const PORT2_FIXED = 14; // code(1) result(1) port(2) type(1) proto(1) hi(2) lo(2) nlen(2) elen(2)
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// --- names ---------------------------------------------------------------------------------------

/**
 * Checks a node name as the port mapper accepts it: 1 to 1020 bytes of valid UTF-8, at most 255
 * characters, no NUL (as epmd), and (a hardening beyond epmd) no other control character, so no
 * name can forge a line of a NAMES answer.
 * @returns the name's text.
 * @throws EpmdProtocolError with reason `'bad-name'`.
 */
export function checkNodeNameBytes(bytes: Uint8Array): string {
  checkNameLength(bytes.length);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badName(M.nameNotUtf8());
  }
  return checkNodeNameText(text);
}

/**
 * Checks a node name given as text (see {@link checkNodeNameBytes}).
 * @throws EpmdProtocolError with reason `'bad-name'`.
 */
export function checkNodeName(name: string): string {
  if (typeof name !== 'string') throw badName(M.nameNotString());
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.toString('utf8') !== name) throw badName(M.nameLoneSurrogate());
  checkNameLength(bytes.length);
  return checkNodeNameText(name);
}

function checkNameLength(bytes: number): void {
  if (bytes === 0) throw badName(M.nameEmpty());
  if (bytes > EPMD_LIMITS.maxNameBytes)
    throw badName(M.nameTooManyBytes(bytes, EPMD_LIMITS.maxNameBytes));
}

function checkNodeNameText(text: string): string {
  let chars = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code === 0) throw badName(M.nameNul());
    if (code < 0x20 || code === 0x7f) throw badName(M.nameControl());
    chars++;
  }
  if (chars > EPMD_LIMITS.maxNameChars)
    throw badName(M.nameTooManyChars(chars, EPMD_LIMITS.maxNameChars));
  return text;
}

// --- requests ------------------------------------------------------------------------------------

/**
 * Splits one framed request off the front of a byte stream.
 * @returns the request body and the bytes after it, or `undefined` while the frame is incomplete.
 * @throws EpmdProtocolError (`'malformed'`) for a length of 0 or above
 * {@link EPMD_LIMITS.maxRequestLength}: the connection must be closed at once.
 */
export function readRequestFrame(
  buffer: Uint8Array,
): { readonly body: Buffer; readonly rest: Buffer } | undefined {
  if (buffer.length < 2) return undefined;
  const length = (buffer[0]! << 8) | buffer[1]!;
  if (length < 1 || length > EPMD_LIMITS.maxRequestLength)
    throw malformed(M.frameLength(length, EPMD_LIMITS.maxRequestLength));
  if (buffer.length < 2 + length) return undefined;
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.length);
  return { body: bytes.subarray(2, 2 + length), rest: bytes.subarray(2 + length) };
}

/**
 * Decodes a request body (without its length prefix).
 * @throws EpmdProtocolError: `'malformed'` for a broken layout, `'bad-name'` for an unacceptable
 * node name, `'unsupported'` for any other request code.
 */
export function decodeRequest(body: Uint8Array): EpmdRequest {
  if (body.length === 0) throw malformed(M.truncated('request', 1, 0));
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.length);
  switch (bytes[0]) {
    case EpmdCode.ALIVE2_REQ:
      return { type: 'alive2', ...decodeNodeInfo(bytes, 1, 'ALIVE2_REQ', true) };
    case EpmdCode.PORT_PLEASE2_REQ: {
      let name = bytes.subarray(1);
      // A trailing NUL is tolerated and stripped (as epmd); an embedded one is refused.
      if (name.length > 0 && name[name.length - 1] === 0) name = name.subarray(0, -1);
      return { type: 'portPlease2', name: checkNodeNameBytes(name) };
    }
    case EpmdCode.NAMES_REQ:
      if (bytes.length !== 1) throw malformed(M.trailing('NAMES_REQ', bytes.length - 1));
      return { type: 'names' };
    case EpmdCode.KILL_REQ:
      if (bytes.length !== 1) throw malformed(M.trailing('KILL_REQ', bytes.length - 1));
      return { type: 'kill' };
    default:
      throw new EpmdProtocolError(M.unknownRequest(bytes[0]!), { reason: 'unsupported' });
  }
}

/**
 * Encodes a request with its 2-byte length prefix, ready to write.
 * @throws EpmdProtocolError when a field is out of range or the name is not acceptable.
 */
export function encodeRequest(request: EpmdRequest): Buffer {
  let body: Buffer;
  switch (request.type) {
    case 'alive2':
      body = encodeNodeInfo(EpmdCode.ALIVE2_REQ, undefined, request);
      break;
    case 'portPlease2':
      body = Buffer.concat([
        Buffer.of(EpmdCode.PORT_PLEASE2_REQ),
        Buffer.from(checkNodeName(request.name), 'utf8'),
      ]);
      break;
    case 'names':
      body = Buffer.of(EpmdCode.NAMES_REQ);
      break;
    case 'kill':
      body = Buffer.of(EpmdCode.KILL_REQ);
      break;
    default:
      throw new EpmdProtocolError(
        M.badField('request type', (request as { type: unknown }).type, M.knownRequest()),
        { reason: 'unsupported' },
      );
  }
  if (body.length > EPMD_LIMITS.maxRequestLength)
    throw malformed(M.frameLength(body.length, EPMD_LIMITS.maxRequestLength));
  const frame = Buffer.allocUnsafe(2 + body.length);
  frame.writeUInt16BE(body.length, 0);
  body.copy(frame, 2);
  return frame;
}

// --- answers -------------------------------------------------------------------------------------

/** Encodes an answer to ALIVE2_REQ (ALIVE2_X_RESP when `extended`, else ALIVE2_RESP). */
export function encodeAlive2Response(response: EpmdAlive2Response): Buffer {
  const { result, creation, extended } = response;
  checkUint('result', result, 0xff);
  checkUint('creation', creation, extended ? 0xffffffff : 0xffff);
  const out = Buffer.allocUnsafe(extended ? 6 : 4);
  out[0] = extended ? EpmdCode.ALIVE2_X_RESP : EpmdCode.ALIVE2_RESP;
  out[1] = result;
  if (extended) out.writeUInt32BE(creation, 2);
  else out.writeUInt16BE(creation, 2);
  return out;
}

/**
 * Decodes an answer to ALIVE2_REQ from the front of `bytes`.
 * @returns the answer, or `undefined` while it is incomplete.
 * @throws EpmdProtocolError when the first byte is neither ALIVE2_X_RESP nor ALIVE2_RESP.
 */
export function decodeAlive2Response(bytes: Uint8Array): Decoded<EpmdAlive2Response> | undefined {
  if (bytes.length === 0) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b[0] === EpmdCode.ALIVE2_X_RESP) {
    if (b.length < 6) return undefined;
    return { value: { result: b[1]!, creation: b.readUInt32BE(2), extended: true }, length: 6 };
  }
  if (b[0] === EpmdCode.ALIVE2_RESP) {
    if (b.length < 4) return undefined;
    return { value: { result: b[1]!, creation: b.readUInt16BE(2), extended: false }, length: 4 };
  }
  throw malformed(M.unexpectedResponse('ALIVE2_REQ', b[0]!));
}

/** Encodes an answer to PORT_PLEASE2_REQ: the node, or "not found" (result 1) for `undefined`. */
export function encodePort2Response(node: EpmdNodeInfo | undefined): Buffer {
  if (node === undefined) return Buffer.of(EpmdCode.PORT2_RESP, 1);
  return encodeNodeInfo(EpmdCode.PORT2_RESP, 0, node);
}

/**
 * Decodes an answer to PORT_PLEASE2_REQ from the front of `bytes`.
 * @returns the node (`value` is `undefined` when the mapper does not know the name), or
 * `undefined` while the answer is incomplete.
 * @throws EpmdProtocolError for anything that is not a PORT2_RESP.
 */
export function decodePort2Response(
  bytes: Uint8Array,
): Decoded<EpmdNodeInfo | undefined> | undefined {
  if (bytes.length === 0) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b[0] !== EpmdCode.PORT2_RESP)
    throw malformed(M.unexpectedResponse('PORT_PLEASE2_REQ', b[0]!));
  if (b.length < 2) return undefined;
  if (b[1] !== 0) return { value: undefined, length: 2 };
  if (b.length < PORT2_FIXED) return undefined;
  const nameLength = b.readUInt16BE(10);
  if (b.length < PORT2_FIXED + nameLength) return undefined;
  const extraLength = b.readUInt16BE(12 + nameLength);
  const total = PORT2_FIXED + nameLength + extraLength;
  if (b.length < total) return undefined;
  return { value: decodeNodeInfo(b.subarray(0, total), 2, 'PORT2_RESP', false), length: total };
}

/**
 * Encodes a NAMES answer: the mapper's port (4 bytes), then `name <name> at port <port>\n` per
 * node, exactly as epmd (and `erl_epmd` parsing it) expects.
 */
export function encodeNamesResponse(mapperPort: number, names: readonly EpmdNameEntry[]): Buffer {
  checkUint('mapper port', mapperPort, 0xffff);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(mapperPort, 0);
  const lines = names.map(entry => {
    checkUint('port', entry.port, 0xffff);
    return `name ${checkNodeName(entry.name)} at port ${entry.port}\n`;
  });
  return Buffer.concat([head, Buffer.from(lines.join(''), 'utf8')]);
}

const NAMES_LINE = /^name (.+) at port (\d{1,5})$/su;

/**
 * Decodes a complete NAMES answer (the mapper closes the connection after it).
 * @throws EpmdProtocolError when it is shorter than 4 bytes, not UTF-8, or has a line that is not
 * `name <name> at port <port>`.
 */
export function decodeNamesResponse(bytes: Uint8Array): EpmdNamesResponse {
  if (bytes.length < 4) throw malformed(M.truncated('NAMES answer', 4, bytes.length));
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const mapperPort = b.readUInt32BE(0);
  let text: string;
  try {
    text = utf8.decode(b.subarray(4));
  } catch {
    throw malformed(M.badNamesLine(M.notUtf8Line()));
  }
  const names: EpmdNameEntry[] = [];
  const lines = text.split('\n');
  // Every line ends in "\n", so the text after the last one must be empty.
  if (lines.pop() !== '') throw malformed(M.badNamesLine(text));
  for (const line of lines) {
    const match = NAMES_LINE.exec(line);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port > 0xffff) throw malformed(M.badNamesLine(line));
    names.push({ name: match[1]!, port });
  }
  return { mapperPort, names };
}

// --- shared layout of ALIVE2_REQ and PORT2_RESP ------------------------------------------------

/** ALIVE2_REQ (`result` undefined) or a successful PORT2_RESP (`result` 0). */
function encodeNodeInfo(code: number, result: number | undefined, node: EpmdNodeInfo): Buffer {
  checkUint('port', node.port, 0xffff);
  checkUint('node type', node.nodeType, 0xff);
  checkUint('protocol', node.protocol, 0xff);
  checkUint('highest version', node.highestVersion, 0xffff);
  checkUint('lowest version', node.lowestVersion, 0xffff);
  const name = Buffer.from(checkNodeName(node.name), 'utf8');
  const extra = node.extra ?? new Uint8Array(0);
  if (!(extra instanceof Uint8Array) || extra.length > EPMD_LIMITS.maxExtraBytes)
    throw malformed(
      M.badField('extra length', extra?.length, M.atMostBytes(EPMD_LIMITS.maxExtraBytes)),
    );
  const head = result === undefined ? 1 : 2;
  const out = Buffer.allocUnsafe(head + 12 + name.length + extra.length);
  let at = 0;
  out[at++] = code;
  if (result !== undefined) out[at++] = result;
  at = out.writeUInt16BE(node.port, at);
  out[at++] = node.nodeType;
  out[at++] = node.protocol;
  at = out.writeUInt16BE(node.highestVersion, at);
  at = out.writeUInt16BE(node.lowestVersion, at);
  at = out.writeUInt16BE(name.length, at);
  at += name.copy(out, at);
  at = out.writeUInt16BE(extra.length, at);
  out.set(extra, at);
  return out;
}

/** Decodes the node fields starting at `from`; the message must end exactly after `Extra`. */
function decodeNodeInfo(b: Buffer, from: number, what: string, request: boolean): EpmdNodeInfo {
  const fixed = from + ALIVE2_FIXED - 1;
  if (b.length < fixed) throw malformed(M.truncated(what, fixed, b.length));
  const port = b.readUInt16BE(from);
  const nodeType = b[from + 2]!;
  const protocol = b[from + 3]!;
  const highestVersion = b.readUInt16BE(from + 4);
  const lowestVersion = b.readUInt16BE(from + 6);
  const nameLength = b.readUInt16BE(from + 8);
  const nameEnd = from + 10 + nameLength;
  if (b.length < nameEnd + 2) throw malformed(M.truncated(what, nameEnd + 2, b.length));
  const extraLength = b.readUInt16BE(nameEnd);
  const end = nameEnd + 2 + extraLength;
  if (b.length < end) throw malformed(M.truncated(what, end, b.length));
  if (b.length > end) throw malformed(M.trailing(what, b.length - end));
  if (request && extraLength > EPMD_LIMITS.maxExtraBytes)
    throw malformed(
      M.badField('extra length', extraLength, M.atMostBytes(EPMD_LIMITS.maxExtraBytes)),
    );
  const name = checkNodeNameBytes(b.subarray(from + 10, nameEnd));
  const extra = Uint8Array.from(b.subarray(nameEnd + 2, end));
  return { name, port, nodeType, protocol, highestVersion, lowestVersion, extra };
}

function checkUint(field: string, value: unknown, max: number): void {
  if (!isIntegerIn(value, 0, max)) throw malformed(M.badField(field, value, M.integerUpTo(max)));
}

function malformed(message: string): EpmdProtocolError {
  return new EpmdProtocolError(message, { reason: 'malformed' });
}

function badName(why: string): EpmdProtocolError {
  return new EpmdProtocolError(M.badName(why), { reason: 'bad-name' });
}
