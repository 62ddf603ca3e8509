/**
 * The five etcd operations the discovery uses, typed, over the gateway client: range a prefix,
 * put with a lease, and grant / keep alive / revoke a lease. Gateway shapes are decoded by
 * etcd-gateway.ts; a shape that does not fit becomes an `ERR_ETCD_REQUEST` protocol error.
 */
import type { EtcdClient } from './etcd-client.js';
import {
  GatewayShapeError,
  type RangeAnswer,
  decodeGrant,
  decodeHeaderRevision,
  decodeKeepAlive,
  decodeRange,
  encodeKey,
  prefixRangeEnd,
} from './etcd-gateway.js';
import { etcdRequestError } from './etcd.errors.js';

/** The lease operations (the {@link LeaseKeeper}'s view of etcd). */
export interface LeaseApi {
  /** Grants a lease; etcd may grant a longer TTL than asked (its minimum). */
  grant(ttlSeconds: number, signal: AbortSignal): Promise<{ id: string; ttl: number }>;
  /** Puts `key` = `value` attached to lease `id`; rejects "requested lease not found" when gone. */
  put(key: string, value: string, id: string, signal: AbortSignal): Promise<bigint>;
  /** Renews lease `id`: its TTL in seconds, 0 when the lease is gone. */
  keepAlive(id: string, signal: AbortSignal): Promise<number>;
  /** Revokes lease `id`, deleting its keys. */
  revoke(id: string, signal: AbortSignal): Promise<void>;
}

/** The etcd operations of the discovery, over one {@link EtcdClient}. */
export class EtcdApi implements LeaseApi {
  constructor(readonly client: EtcdClient) {}

  /** Every key starting with `prefix`, and the revision of the answer. */
  async range(prefix: string, signal?: AbortSignal): Promise<RangeAnswer> {
    const path = '/v3/kv/range';
    const body = { key: encodeKey(prefix), range_end: prefixRangeEnd(prefix) };
    return this.decode(path, await this.client.call(path, body, signal), decodeRange);
  }

  async grant(ttlSeconds: number, signal: AbortSignal): Promise<{ id: string; ttl: number }> {
    const path = '/v3/lease/grant';
    return this.decode(
      path,
      await this.client.call(path, { TTL: String(ttlSeconds) }, signal),
      decodeGrant,
    );
  }

  async put(key: string, value: string, id: string, signal: AbortSignal): Promise<bigint> {
    const path = '/v3/kv/put';
    const body = { key: encodeKey(key), value: encodeKey(value), lease: id };
    return this.decode(path, await this.client.call(path, body, signal), decodeHeaderRevision);
  }

  async keepAlive(id: string, signal: AbortSignal): Promise<number> {
    const path = '/v3/lease/keepalive';
    return this.decode(path, await this.client.call(path, { ID: id }, signal), decodeKeepAlive);
  }

  async revoke(id: string, signal: AbortSignal): Promise<void> {
    await this.client.call('/v3/lease/revoke', { ID: id }, signal);
  }

  /** The body of a watch of every key starting with `prefix`, from `startRevision`. */
  static watchRequest(prefix: string, startRevision: bigint): unknown {
    return {
      create_request: {
        key: encodeKey(prefix),
        range_end: prefixRangeEnd(prefix),
        start_revision: String(startRevision),
      },
    };
  }

  private decode<T>(path: string, body: unknown, decode: (body: unknown) => T): T {
    try {
      return decode(body);
    } catch (error) {
      if (!(error instanceof GatewayShapeError)) throw error;
      throw etcdRequestError(
        { kind: 'protocol', message: error.message },
        path,
        this.client.endpoint,
      );
    }
  }
}
