import type { EtcdFailure } from './etcd.errors.js';

/**
 * User-facing texts of the `etcd` discovery (errors and log lines), kept in one place so they can
 * be found and improved. No text ever holds a password or an auth token.
 */
export const EtcdMessages = {
  // Options.
  accepts: {
    options: 'an object such as { strategy: "etcd", endpoints: ["http://127.0.0.1:2379"] }',
    endpoints:
      'a non-empty array (at most 16) of http(s) URLs of etcd members without path, query or credentials, e.g. ["http://10.0.0.1:2379", "https://10.0.0.2:2379"]',
    prefix:
      'a key prefix starting with "/", without control characters, at most 256 characters, e.g. "/gen-cluster"',
    username: 'a non-empty user name without control characters',
    password: 'a non-empty string (or "passwordFile", a file holding it)',
    file: 'a readable file path',
  },
  passwordWithoutUser: () =>
    'Invalid etcd discovery options: "password"/"passwordFile" are given without "username". Give the etcd user in "username" (or GEN_CLUSTER_ETCD_USERNAME).',
  userWithoutPassword: () =>
    'Invalid etcd discovery options: "username" is given without "password" or "passwordFile" (or GEN_CLUSTER_ETCD_PASSWORD_FILE).',
  bothPasswords: () =>
    'Invalid etcd discovery options: give either "password" or "passwordFile", not both.',
  certWithoutKey: () =>
    'Invalid etcd discovery options: "certFile" and "keyFile" (a TLS client certificate and its key) go together; one is missing.',
  tlsWithoutHttps: () =>
    'Invalid etcd discovery options: "caFile"/"certFile"/"keyFile" are given but no endpoint is an https URL; use https:// endpoints for TLS.',
  requestTimeoutTooLong: (ms: number, ttlSeconds: number, maxMs: number) =>
    `Invalid etcd discovery option "requestTimeoutMs": ${ms} ms is longer than a third of "leaseTtlSeconds" (${ttlSeconds} s), the keepalive period; give at most ${maxMs} ms, or a longer lease TTL.`,
  unreadableFile: (option: string, file: string, code: string) =>
    `Invalid etcd discovery option "${option}": cannot read ${file} (${code}).`,
  emptyPasswordFile: (file: string) =>
    `Invalid etcd discovery option "passwordFile": ${file} is empty.`,
  noCertificate: (option: string, file: string) =>
    `Invalid etcd discovery option "${option}": ${file} holds no PEM block.`,

  // The strategy.
  closed: () => 'etcd discovery is closed.',
  notStarted: () => 'etcd discovery has not started (init() was not called, or is still loading).',
  unreachable: (endpoints: string, reason: string) =>
    `etcd discovery: cannot list the peers from etcd at ${endpoints} (${reason}); keeping the last good peers.`,
  registerFailed: (key: string, reason: string, consecutive = 1) =>
    `etcd discovery: cannot register ${key} (${reason})${consecutive > 1 ? ` (${consecutive} failures in a row)` : ''}; retrying in the background, this node still runs.`,
  credentialsInClear: (endpoints: string) =>
    `etcd discovery: a user name and password are set but ${endpoints} ${endpoints.includes(',') ? 'are' : 'is'} plain http: the password and the auth token travel in clear; use https:// endpoints (with "caFile").`,
  leaseLost: (key: string, leaseId: string) =>
    `etcd discovery: lease ${leaseId} of ${key} is gone (etcd was unreachable longer than the lease TTL, or the lease was revoked); granting a new lease and registering again.`,
  reregistered: (key: string, leaseId: string) =>
    `etcd discovery: ${key} registered again with lease ${leaseId}.`,
  registered: (key: string, leaseId: string, ttl: number) =>
    `etcd discovery: registered ${key} with lease ${leaseId} (TTL ${ttl} s).`,
  keyDeleted: (key: string) =>
    `etcd discovery: this node's key ${key} was deleted while its lease lives; putting it again.`,
  badValue: (key: string, why: string) => `etcd discovery: ignored the key ${key}: ${why}.`,
  answered: (count: number, source: 'watch' | 'range') =>
    `etcd discovery: ${count} peer(s) from ${source === 'watch' ? 'the watched prefix' : 'a range of the prefix'}.`,
  ranged: (count: number, revision: string) =>
    `etcd discovery: ranged ${count} key(s) at revision ${revision}; watching from the next.`,
  compacted: (revision: string, compactRevision: string) =>
    `etcd discovery: revision ${revision} was compacted (compact revision ${compactRevision}); ranging the prefix again.`,
  watchEnded: (revision: string | undefined, delayMs: number, reason: string) =>
    `etcd discovery: the watch ended (${reason}); resuming after revision ${revision ?? '(none)'} in ${delayMs} ms.`,
  watchFailing: (failures: number, reason: string) =>
    `etcd discovery: the watch failed ${failures} times in a row (last: ${reason}); ranging at every refresh until it works again.`,
  watchResumed: () => 'etcd discovery: the watch works again.',
  tooManyKeys: (maxKeys: number, suppressed: number) =>
    `etcd discovery: more than ${maxKeys} keys under the prefix; the watch copy is dropped and each lookup ranges the prefix (check what else writes under it).${suppressed > 0 ? ` (${suppressed} similar warnings suppressed)` : ''}`,
  watchMoved: (from: string, to: string) =>
    `etcd discovery: requests moved from ${from} to ${to}; the watch moves too.`,
  revokeFailed: (leaseId: string, reason: string) =>
    `etcd discovery: could not revoke lease ${leaseId} on close (${reason}); the key goes when the lease expires.`,

  // Value checks.
  notJsonValue: () =>
    'the value is not JSON of the form {"node":"name@host","port":4369,"incarnation":"..."}',
  nodeMismatch: (node: string) =>
    `the value names ${JSON.stringify(node)}, not the node of the key`,
  badNode: () => 'the key does not end in a valid node name',
  badPort: () => 'the value has a "port" that is not an integer from 1 to 65535',

  // Failed requests (the message of an EtcdRequestError).
  requestFailed: (failure: EtcdFailure, path: string, endpoint: string) =>
    `${describeFailure(failure)} (POST ${endpoint}${path})`,
  notJson: (reason: string) => `the answer is not JSON (${reason})`,
  answerTooLarge: (maxBytes: number) => `the answer is larger than ${maxBytes} bytes`,
  answerBrokeOff: () => 'the answer broke off',
  streamBrokeOff: () => 'the watch stream broke off',
  lineTooLarge: (maxBytes: number) => `a watch line is larger than ${maxBytes} bytes`,
  unexpected: (what: string) => `the answer is not ${what}`,
  watchCanceled: (reason: string) => `etcd canceled the watch: ${reason}`,
  authFailed: (user: string, reason: string) =>
    `etcd refused the credentials of user "${user}" (${reason}); check "username" and the password (or GEN_CLUSTER_ETCD_USERNAME / GEN_CLUSTER_ETCD_PASSWORD_FILE).`,
  authNeeded: (reason: string) =>
    `etcd has authentication enabled (${reason}); give "username" and "password"/"passwordFile" (or GEN_CLUSTER_ETCD_USERNAME / GEN_CLUSTER_ETCD_PASSWORD_FILE).`,
  permissionDenied: (prefix: string) =>
    `etcd denied access to ${prefix}: the user needs a role with readwrite on that prefix (etcdctl role grant-permission <role> --prefix=true readwrite ${prefix}).`,
} as const;

function describeFailure(failure: EtcdFailure): string {
  switch (failure.kind) {
    case 'status':
      return `HTTP ${failure.status}${failure.grpcCode !== undefined ? ` (gRPC code ${failure.grpcCode})` : ''}: ${failure.message}`;
    case 'timeout':
      return `no answer within ${failure.ms} ms`;
    case 'network':
      return `${failure.code}: ${failure.message}`;
    case 'protocol':
    case 'auth':
    case 'canceled':
      return failure.message;
  }
}
