/**
 * The gateway's answers as etcd 3.4.23 sent them (captured with curl against a real etcd; see the
 * comments in etcd-gateway.ts), decoded.
 */
import {
  decodeGatewayError,
  decodeGrant,
  decodeHeaderRevision,
  decodeKeepAlive,
  decodeRange,
  decodeToken,
  decodeWatchMessage,
  encodeKey,
  prefixRangeEnd,
} from './etcd-gateway.js';
import { JsonLines } from './json-lines.js';

const HEADER = {
  cluster_id: '7801232528081817440',
  member_id: '13458989633860879742',
  raft_term: '2',
};
const header = (revision: string) => ({ ...HEADER, revision });

/** Captured answers, verbatim. */
const CAPTURED = {
  grant: `{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"1","raft_term":"2"},"ID":"5007618185168383494","TTL":"2"}`,
  put: `{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"2","raft_term":"2"}}`,
  range: `{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"3","raft_term":"2"},"kvs":[{"key":"L2djL2RlZmF1bHQvYUBo","create_revision":"2","mod_revision":"2","version":"1","value":"eyJub2RlIjoiYUBoIn0=","lease":"5007618185168383498"},{"key":"L2djL2RlZmF1bHQvYkBo","create_revision":"3","mod_revision":"3","version":"1","value":"eA==","lease":"5007618185168383498"}],"count":"2"}`,
  rangeEmpty: `{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"3","raft_term":"2"}}`,
  keepAlive: `{"result":{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"3","raft_term":"2"},"ID":"5007618185168383498","TTL":"5"}}\n`,
  keepAliveLost: `{"result":{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"7","raft_term":"2"},"ID":"5007618185168383542"}}\n`,
  leaseNotFound: `{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}`,
  invalidToken: `{"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16}`,
  authenticate: `{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"7","raft_term":"2"},"token":"MpfmpMuhoZcsAYSk.29"}`,
  watch: [
    `{"result":{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"4","raft_term":"2"},"created":true}}`,
    `{"result":{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"5","raft_term":"2"},"events":[{"kv":{"key":"L3cvYQ==","create_revision":"5","mod_revision":"5","version":"1","value":"djE="}}]}}`,
    `{"result":{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"7","raft_term":"2"},"events":[{"type":"DELETE","kv":{"key":"L3cvYQ==","mod_revision":"7"}}]}}`,
  ],
  compacted: `{"result":{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","raft_term":"2"},"canceled":true,"compact_revision":"6"}}`,
  watchDenied: `{"result":{"header":{"cluster_id":"7801232528081817440","member_id":"13458989633860879742","revision":"7","raft_term":"2"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}}`,
};

describe('etcd gateway shapes', () => {
  it('encodes keys in base64 and ends a prefix range at the prefix plus one', () => {
    expect(encodeKey('/gc/default/a@h')).toBe('L2djL2RlZmF1bHQvYUBo');
    expect(Buffer.from(prefixRangeEnd('/gc/default/'), 'base64').toString()).toBe('/gc/default0');
    expect(Buffer.from(prefixRangeEnd('a\u00ff'), 'base64')).toEqual(
      Buffer.from([0x61, 0xc3, 0xc0]),
    );
  });

  it('keeps lease IDs as strings (they exceed 2^53) and reads TTLs given as strings', () => {
    expect(decodeGrant(JSON.parse(CAPTURED.grant))).toEqual({ id: '5007618185168383494', ttl: 2 });
    expect(() => decodeGrant({ header: header('1'), ID: 2 ** 60 })).toThrow('not a lease grant');
    expect(decodeHeaderRevision(JSON.parse(CAPTURED.put))).toBe(2n);
  });

  it('decodes a range, and an empty range (no kvs field at all)', () => {
    expect(decodeRange(JSON.parse(CAPTURED.range))).toEqual({
      revision: 3n,
      kvs: [
        {
          key: '/gc/default/a@h',
          value: '{"node":"a@h"}',
          lease: '5007618185168383498',
          modRevision: 2n,
        },
        { key: '/gc/default/b@h', value: 'x', lease: '5007618185168383498', modRevision: 3n },
      ],
    });
    expect(decodeRange(JSON.parse(CAPTURED.rangeEmpty))).toEqual({ revision: 3n, kvs: [] });
    expect(() => decodeRange({ header: header('3'), kvs: {} })).toThrow('not a range answer');
    expect(() => decodeRange('nope')).toThrow('not a range answer');
  });

  it('reads a keepalive: the TTL, or 0 when etcd leaves it out (the lease is gone)', () => {
    expect(decodeKeepAlive(JSON.parse(CAPTURED.keepAlive))).toBe(5);
    expect(decodeKeepAlive(JSON.parse(CAPTURED.keepAliveLost))).toBe(0);
    expect(() => decodeKeepAlive({ header: header('1'), TTL: '5' })).toThrow(
      'not a keepalive answer',
    );
  });

  it('reads error bodies: gRPC code and message, or the bare text', () => {
    expect(decodeGatewayError(CAPTURED.leaseNotFound)).toEqual({
      grpcCode: 5,
      message: 'etcdserver: requested lease not found',
    });
    expect(decodeGatewayError(CAPTURED.invalidToken).grpcCode).toBe(16);
    expect(decodeGatewayError('Not Found\n')).toEqual({
      grpcCode: undefined,
      message: 'Not Found',
    });
  });

  it('reads the token, refusing one that could not go into a header', () => {
    expect(decodeToken(JSON.parse(CAPTURED.authenticate))).toBe('MpfmpMuhoZcsAYSk.29');
    expect(() => decodeToken({ token: 'a b' })).toThrow('not an authenticate answer');
    expect(() => decodeToken({ token: 'a\r\nX-Evil: 1' })).toThrow('not an authenticate answer');
  });

  it('decodes watch messages: created, PUT (no type), DELETE, compaction, refusal', () => {
    const [created, put, del] = CAPTURED.watch.map(line => decodeWatchMessage(JSON.parse(line)));
    expect(created).toEqual({ kind: 'created' });
    expect(put).toEqual({
      kind: 'events',
      revision: 5n,
      events: [
        { type: 'PUT', kv: { key: '/w/a', value: 'v1', lease: undefined, modRevision: 5n } },
      ],
    });
    expect(del).toEqual({
      kind: 'events',
      revision: 7n,
      events: [
        { type: 'DELETE', kv: { key: '/w/a', value: '', lease: undefined, modRevision: 7n } },
      ],
    });
    expect(decodeWatchMessage(JSON.parse(CAPTURED.compacted))).toEqual({
      kind: 'canceled',
      compactRevision: 6n,
      reason: '',
    });
    expect(decodeWatchMessage(JSON.parse(CAPTURED.watchDenied))).toEqual({
      kind: 'canceled',
      compactRevision: undefined,
      reason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
    });
    expect(decodeWatchMessage({ result: { header: header('9'), events: [] } })).toEqual({
      kind: 'progress',
      revision: 9n,
    });
    expect(() =>
      decodeWatchMessage({
        result: { header: header('9'), events: [{ type: 'PATCH', kv: { key: '' } }] },
      }),
    ).toThrow('not a watch event');
  });
});

describe('watch line framing', () => {
  const stream = `${CAPTURED.watch.join('\n')}\n`;

  it('yields the same messages however the stream is cut into chunks', () => {
    const whole = new JsonLines(1 << 20).push(stream);
    expect(whole).toHaveLength(3);
    for (let size = 1; size <= stream.length; size += 7) {
      const lines = new JsonLines(1 << 20);
      const values: unknown[] = [];
      for (let i = 0; i < stream.length; i += size)
        values.push(...lines.push(stream.slice(i, i + size)));
      expect(values).toEqual(whole);
      expect(lines.pending).toBe(false);
    }
  });

  it('keeps a partial line until its newline, and skips blank lines', () => {
    const lines = new JsonLines(1 << 20);
    expect(lines.push('\n\r\n{"a":')).toEqual([]);
    expect(lines.pending).toBe(true);
    expect(lines.push('1}\n{"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('refuses a line that is not JSON, and one longer than the bound', () => {
    expect(() => new JsonLines(100).push('{nope}\n')).toThrow(SyntaxError);
    const lines = new JsonLines(100);
    expect(() => lines.push('x'.repeat(101))).toThrow(RangeError);
    expect(lines.pending).toBe(false);
  });
});
