/**
 * The JSON shapes of etcd's HTTP/JSON v3 gateway (grpc-gateway over etcd's gRPC API), as etcd 3.4
 * sends them, decoded into plain values. Pure: no I/O.
 *
 * What the gateway does (checked against etcd 3.4.23, pinned in etcd-gateway.spec.ts):
 * - keys and values are base64; int64 fields (revisions, lease IDs, TTLs) are JSON strings. Lease
 *   IDs exceed 2^53, so they stay strings here; revisions become `bigint`.
 * - fields holding their zero value are left out: a range with no key has no `kvs` (nor `count`),
 *   a PUT event has no `type`, a lost lease's keepalive answer has no `TTL`.
 * - streaming calls (`/v3/lease/keepalive`, `/v3/watch`) wrap each message in `{"result": ...}`,
 *   one per line.
 * - errors: a non-200 status with `{"error","message","code"}` (`code` is the gRPC code); a watch
 *   that cannot start answers 200 with a message `created` and `canceled` and a `cancel_reason`.
 */
import { EtcdMessages as M } from './etcd.messages.js';

/** One key-value pair of a range or a watch event, key and value decoded to UTF-8. */
export interface EtcdKeyValue {
  readonly key: string;
  /** Empty for a DELETE event. */
  readonly value: string;
  /** The lease the key is attached to, `undefined` for none. */
  readonly lease: string | undefined;
  /**
   * The revision of the key's last change (`mod_revision`). A watch resumes after the last
   * event's: etcd may cut a catch-up batch while the header already says the store's revision.
   */
  readonly modRevision: bigint;
}

/** A decoded `/v3/kv/range` answer. */
export interface RangeAnswer {
  readonly revision: bigint;
  readonly kvs: readonly EtcdKeyValue[];
}

/** One decoded message of a watch stream. */
export type WatchMessage =
  | { readonly kind: 'created' }
  | {
      readonly kind: 'events';
      readonly revision: bigint;
      readonly events: readonly { readonly type: 'PUT' | 'DELETE'; readonly kv: EtcdKeyValue }[];
    }
  /** No events: a progress notification; the revision moves on. */
  | { readonly kind: 'progress'; readonly revision: bigint }
  | {
      readonly kind: 'canceled';
      /** Set when the start revision was compacted: range again. */
      readonly compactRevision: bigint | undefined;
      readonly reason: string;
    };

/** The gateway's body of an error answer. */
export interface GatewayError {
  readonly grpcCode: number | undefined;
  readonly message: string;
}

/** A decoding failure: the answer is not the gateway's shape. */
export class GatewayShapeError extends Error {}

/** Base64 of the UTF-8 bytes of `text`. */
export function encodeKey(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * The `range_end` of every key starting with `prefix`: the prefix with its last byte plus one
 * (etcd's `clientv3.GetPrefixRangeEnd`), base64.
 */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.subarray(0, i + 1);
      end[i] = end[i]! + 1;
      return end.toString('base64');
    }
  }
  // every byte 0xff (or empty): to the end of the key space
  return Buffer.from([0]).toString('base64');
}

/** Decodes a `/v3/kv/range` answer. */
export function decodeRange(body: unknown): RangeAnswer {
  const o = object(body, 'a range answer');
  const revision = headerRevision(o, 'a range answer');
  const raw = o.kvs ?? [];
  if (!Array.isArray(raw)) throw shape('a range answer');
  return { revision, kvs: raw.map(kv => keyValue(kv, 'a range answer')) };
}

/** The revision of a `/v3/kv/put` (or any unary) answer's header. */
export function decodeHeaderRevision(body: unknown): bigint {
  return headerRevision(object(body, 'an etcd answer'), 'an etcd answer');
}

/** Decodes a `/v3/lease/grant` answer: the lease ID (a decimal string) and the granted TTL. */
export function decodeGrant(body: unknown): { id: string; ttl: number } {
  const o = object(body, 'a lease grant answer');
  const id = int64(o.ID, 'a lease grant answer');
  const ttl = Number(int64(o.TTL ?? '0', 'a lease grant answer'));
  if (id === '0' || !(ttl > 0)) throw shape('a lease grant answer');
  return { id, ttl };
}

/**
 * Decodes a `/v3/lease/keepalive` answer: the lease's remaining TTL in seconds, 0 when the lease
 * is gone (etcd then leaves `TTL` out).
 */
export function decodeKeepAlive(body: unknown): number {
  const o = object(body, 'a keepalive answer');
  const result = object(o.result, 'a keepalive answer');
  return Number(int64(result.TTL ?? '0', 'a keepalive answer'));
}

/** Decodes a `/v3/auth/authenticate` answer: the token. */
export function decodeToken(body: unknown): string {
  const token = object(body, 'an authenticate answer').token;
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))
    throw shape('an authenticate answer');
  return token;
}

/** Decodes one line of a `/v3/watch` stream. */
export function decodeWatchMessage(line: unknown): WatchMessage {
  const o = object(object(line, 'a watch message').result, 'a watch message');
  if (o.canceled === true) {
    const compact = o.compact_revision;
    const compactRevision =
      compact === undefined || compact === '0'
        ? undefined
        : BigInt(int64(compact, 'a watch message'));
    const reason = typeof o.cancel_reason === 'string' ? o.cancel_reason : '';
    return { kind: 'canceled', compactRevision, reason };
  }
  if (o.created === true) return { kind: 'created' };
  const revision = headerRevision(o, 'a watch message');
  const raw = o.events ?? [];
  if (!Array.isArray(raw)) throw shape('a watch message');
  if (raw.length === 0) return { kind: 'progress', revision };
  const events = raw.map(event => {
    const e = object(event, 'a watch event');
    const type = e.type ?? 'PUT';
    if (type !== 'PUT' && type !== 'DELETE') throw shape('a watch event');
    return { type: type as 'PUT' | 'DELETE', kv: keyValue(e.kv, 'a watch event') };
  });
  return { kind: 'events', revision, events };
}

/** Reads the gateway's error body (`{"error","message","code"}`), or the bare text. */
export function decodeGatewayError(text: string): GatewayError {
  try {
    const o = JSON.parse(text) as { message?: unknown; error?: unknown; code?: unknown };
    const message =
      typeof o.message === 'string' ? o.message : typeof o.error === 'string' ? o.error : text;
    return { grpcCode: typeof o.code === 'number' ? o.code : undefined, message };
  } catch {
    return { grpcCode: undefined, message: text.trim().slice(0, 500) };
  }
}

// --- internals -------------------------------------------------------------------------------

function shape(what: string): GatewayShapeError {
  return new GatewayShapeError(M.unexpected(what));
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw shape(what);
  return value as Record<string, unknown>;
}

/** An int64 as the gateway writes it: a decimal string (a number is accepted when exact). */
function int64(value: unknown, what: string): string {
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw shape(what);
}

function headerRevision(o: Record<string, unknown>, what: string): bigint {
  const header = object(o.header, what);
  return BigInt(int64(header.revision ?? '0', what));
}

function keyValue(value: unknown, what: string): EtcdKeyValue {
  const kv = object(value, what);
  if (typeof kv.key !== 'string') throw shape(what);
  const raw = kv.value ?? '';
  if (typeof raw !== 'string') throw shape(what);
  const lease = kv.lease === undefined ? undefined : int64(kv.lease, what);
  return {
    key: Buffer.from(kv.key, 'base64').toString('utf8'),
    value: Buffer.from(raw, 'base64').toString('utf8'),
    lease: lease === '0' ? undefined : lease,
    modRevision: BigInt(int64(kv.mod_revision ?? '0', what)),
  };
}
