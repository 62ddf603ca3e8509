/**
 * TLS and mutual TLS for the TCP dist (the counterpart of Erlang's `inet_tls_dist`): option
 * validation at construction, the `node:tls` settings of both sides, the binding of certificates
 * to node names, and typed errors for failed TLS handshakes. The cookie handshake still runs inside
 * TLS, as in OTP ("cookies are still used over TLS").
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  type ConnectionOptions,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
  type TlsOptions as NodeTlsServerOptions,
  checkServerIdentity,
  connect as tlsConnect,
  createSecureContext,
} from 'node:tls';
import { ConnectError, GenClusterError, InvalidConfigError } from '../../core/errors.js';
import { parseNodeName } from '../../core/peer.js';

/** TLS versions accepted as a floor; TLS 1.2 is the lowest ever allowed. */
export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * The `tls` option of the TCP dist. Give the certificate and key inline (`cert`, `key`) or as
 * files (`certFile`, `keyFile`, read at construction); likewise `ca` or `caFile`.
 */
export interface TlsOptions {
  /** This node's certificate chain (PEM), presented as server and, with `mutual`, as client. */
  readonly cert?: string | Buffer;
  /** The private key of `cert` (PEM, unencrypted). */
  readonly key?: string | Buffer;
  /**
   * CA certificates (PEM) trusted for peers; required with `mutual`. Without it (server-only TLS),
   * servers are verified against Node's bundled root CAs.
   */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** File holding `cert`. */
  readonly certFile?: string;
  /** File holding `key`. */
  readonly keyFile?: string;
  /** File(s) holding `ca`. */
  readonly caFile?: string | readonly string[];
  /**
   * Mutual TLS (default `true`): servers require and verify a client certificate
   * (`requestCert` + `rejectUnauthorized`) and clients present theirs.
   */
  readonly mutual?: boolean;
  /**
   * Bind certificates to node names (default `true`): the peer's certificate must name the host of
   * its node name (DNS or IP subject alternative name). Clients check servers as they dial them;
   * with `mutual`, servers check the client's certificate against the node it claims to be.
   */
  readonly verifyNodeName?: boolean;
  /** Lowest TLS version accepted (default `'TLSv1.2'`). */
  readonly minVersion?: TlsMinVersion;
  /** Deadline of the TLS handshake, on both sides (default 10 s; Node's own is 120 s). */
  readonly handshakeTimeoutMs?: number;
}

/** Defaults of {@link TlsOptions}. */
export const DEFAULT_TLS_OPTIONS = Object.freeze({
  mutual: true,
  verifyNodeName: true,
  minVersion: 'TLSv1.2' as TlsMinVersion,
  handshakeTimeoutMs: 10_000,
});

/** Validated TLS settings, ready for `node:tls`. @internal */
export interface ResolvedTls {
  readonly mutual: boolean;
  readonly verifyNodeName: boolean;
  readonly minVersion: TlsMinVersion;
  readonly handshakeTimeoutMs: number;
  /** Options of the (never listening) `tls.Server` that runs accepted handshakes. */
  readonly server: NodeTlsServerOptions;
  /** Context of dialled connections (with this node's certificate when `mutual`). */
  readonly client: SecureContext;
  /** This node's certificate, to check it names this node at startup. */
  readonly certificate: X509Certificate;
}

/** Codes of a failed TLS handshake. */
export type TlsErrorCode = 'ERR_TLS_HANDSHAKE' | 'ERR_TLS_CERT_NAME';

/** Why a TLS handshake failed, as a short stable token for logs and counters. */
export type TlsFailureReason =
  /** The peer presented no certificate although mutual TLS requires one. */
  | 'no-certificate'
  /** The certificate does not chain to a trusted CA (another CA, self-signed, bad signature). */
  | 'untrusted-certificate'
  /** The certificate is expired or not yet valid. */
  | 'certificate-expired'
  /** The certificate does not name the host of the peer's node name. */
  | 'certificate-name'
  /** No common TLS version (a peer below the floor). */
  | 'version'
  /** The peer does not speak TLS (plain TCP on the other side?). */
  | 'not-tls'
  /** The TLS handshake did not finish within `handshakeTimeoutMs`. */
  | 'timeout'
  /** The peer closed the connection during the TLS handshake. */
  | 'closed'
  /** The peer aborted the TLS handshake with a handshake-failure alert. */
  | 'handshake-failure'
  /** Any other TLS failure; the `cause` holds Node's error. */
  | 'tls';

/** A TLS handshake failed, or a certificate does not name its node: the link is refused. */
export class TlsError extends GenClusterError {
  /** Short stable token, see {@link TlsFailureReason}. */
  readonly reason: TlsFailureReason;
  /** The remote node (dialled) or address (accepted), for logs. */
  readonly peer: string | undefined;

  constructor(
    code: TlsErrorCode,
    message: string,
    details: { reason: TlsFailureReason; peer?: string },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.reason = details.reason;
    this.peer = details.peer;
  }
}

/** Texts of TLS configuration errors and failures; none of them holds key material. */
export const TlsMessages = {
  invalid: (option: string, received: string, expected: string) =>
    `Invalid TCP dist option ${option}: received ${received}; expected ${expected}.`,
  unreadable: (option: string, file: string, error: unknown) =>
    `Invalid TCP dist option ${option}: cannot read ${JSON.stringify(file)} (${error instanceof Error ? error.message : String(error)}); expected a readable PEM file.`,
  ownName: (node: string, names: string) =>
    `Invalid TCP dist option tls.cert: the certificate names ${names}, not the host of this node ${node}; peers verifying node names would refuse it. Use a certificate for this host, or set tls.verifyNodeName to false.`,
  failed: (peer: string, reason: TlsFailureReason, detail: string) =>
    `TLS handshake with ${peer} failed (reason "${reason}"): ${detail}`,
  timeout: (ms: number) => `no TLS handshake within ${ms} ms`,
  closed: () =>
    'the peer closed the connection during the TLS handshake (is TLS enabled on every node?)',
  notTls: (detail: string) =>
    `the peer does not speak TLS (${detail}); is TLS enabled on every node?`,
  closedAfterTls: (node: string) =>
    `TLS handshake with ${node} failed (reason "closed"): the peer closed the connection right after the TLS handshake; it probably refused this node's certificate (see its log).`,
  serverName: (node: string, detail: string) =>
    `the certificate of ${node} does not name its host: ${detail}`,
  clientName: (remote: string, node: string, names: string) =>
    `Connection from ${remote} refused: it proved the cookie as ${node}, but its TLS certificate names ${names}, not ${parseNodeName(node).host} (reason "certificate-name").`,
  refusedOurName: (node: string) =>
    `Node ${node} refused the connection (reason "certificate-name"): this node's TLS certificate does not name this node's host.`,
  unauthorized: (remote: string, why: string | undefined) =>
    `Connection from ${remote} refused: its TLS certificate is not trusted (${why ?? 'unverified'}).`,
} as const;

// ---------------------------------------------------------------------------------------------
// Configuration

type Pem = string | Buffer;

/**
 * Validates the `tls` option and prepares the contexts of both sides.
 * @throws InvalidConfigError naming the option: half-configured credentials (cert without key,
 * key without cert, mutual without ca), unreadable files, values that are not PEM, a key that does
 * not belong to the certificate, a version below TLS 1.2, a bad timeout.
 */
export function resolveTlsOptions(options: TlsOptions): ResolvedTls {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid(
      'tls',
      describe(options),
      'an object with cert and key (or certFile and keyFile)',
    );
  }
  const mutual = booleanOption('tls.mutual', options.mutual, DEFAULT_TLS_OPTIONS.mutual);
  const verifyNodeName = booleanOption(
    'tls.verifyNodeName',
    options.verifyNodeName,
    DEFAULT_TLS_OPTIONS.verifyNodeName,
  );
  const minVersion = options.minVersion ?? DEFAULT_TLS_OPTIONS.minVersion;
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    throw invalid(
      'tls.minVersion',
      describe(minVersion),
      '"TLSv1.2" or "TLSv1.3" (TLS 1.2 is the floor)',
    );
  }
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_TLS_OPTIONS.handshakeTimeoutMs;
  if (
    !Number.isInteger(handshakeTimeoutMs) ||
    handshakeTimeoutMs <= 0 ||
    handshakeTimeoutMs > 2 ** 31 - 1
  ) {
    throw invalid('tls.handshakeTimeoutMs', describe(handshakeTimeoutMs), 'a positive integer');
  }

  const cert = pemOption(options, 'cert', 'certFile');
  const key = pemOption(options, 'key', 'keyFile');
  if (cert === undefined && key === undefined) {
    throw invalid(
      'tls.cert',
      'nothing',
      'a PEM certificate (tls.cert or tls.certFile) and its key',
    );
  }
  if (cert === undefined) {
    throw invalid(
      'tls.cert',
      'nothing',
      'a PEM certificate (tls.cert or tls.certFile) with tls.key',
    );
  }
  if (key === undefined) {
    throw invalid('tls.key', 'nothing', 'the PEM private key (tls.key or tls.keyFile) of tls.cert');
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw invalid(certName(options), describe(cert), 'a PEM certificate');
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw invalid(keyName(options), 'an unusable key', 'an unencrypted PEM private key');
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw invalid(
      keyName(options),
      'a key of another certificate',
      `the private key of ${certName(options)}`,
    );
  }

  const ca = caOption(options);
  if (ca === undefined && mutual) {
    throw invalid(
      'tls.ca',
      'nothing',
      "the CA certificates (tls.ca or tls.caFile) that sign the nodes' certificates, required with mutual TLS (tls.mutual, on by default)",
    );
  }

  const common = { ca, minVersion };
  let client: SecureContext;
  try {
    client = createSecureContext(mutual ? { ...common, cert, key } : common);
  } catch (error) {
    throw invalid(
      'tls',
      `credentials Node cannot load (${(error as Error).message})`,
      'PEM credentials',
    );
  }
  const server: NodeTlsServerOptions = {
    ...common,
    cert,
    key,
    requestCert: mutual,
    rejectUnauthorized: true,
    handshakeTimeout: handshakeTimeoutMs,
  };
  return { mutual, verifyNodeName, minVersion, handshakeTimeoutMs, server, client, certificate };
}

/**
 * Checks at startup that this node's certificate names the host of its node name, when node names
 * are verified (peers would refuse it otherwise).
 * @throws InvalidConfigError naming `tls.cert`.
 */
export function checkOwnCertificate(tls: ResolvedTls, self: string): void {
  if (!tls.verifyNodeName) return;
  const { host } = parseNodeName(self);
  const certificate = tls.certificate;
  const cn = /^CN=(.*)$/m.exec(certificate.subject)?.[1];
  const asPeer = {
    subject: cn === undefined ? {} : { CN: cn },
    subjectaltname: certificate.subjectAltName,
  } as unknown as PeerCertificate;
  if (checkServerIdentity(host, asPeer)) {
    throw new InvalidConfigError(TlsMessages.ownName(self, namesOf(asPeer)));
  }
}

function invalid(option: string, received: string, expected: string): InvalidConfigError {
  return new InvalidConfigError(TlsMessages.invalid(option, received, expected));
}

/** Describes a value without quoting key material. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    return value.length <= 40 && !value.includes('-----')
      ? JSON.stringify(value)
      : `a string of ${value.length} characters`;
  }
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(name, describe(value), 'true or false');
  return value;
}

function certName(options: TlsOptions): string {
  return options.cert === undefined ? 'tls.certFile' : 'tls.cert';
}

function keyName(options: TlsOptions): string {
  return options.key === undefined ? 'tls.keyFile' : 'tls.key';
}

function isPem(value: unknown): value is Pem {
  return (
    (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.length > 0)
  );
}

/** An inline PEM value or the contents of its file (never both). */
function pemOption(
  options: TlsOptions,
  inline: 'cert' | 'key',
  file: 'certFile' | 'keyFile',
): Pem | undefined {
  const value = options[inline];
  const path = options[file];
  if (value !== undefined && path !== undefined) {
    throw invalid(`tls.${inline}`, `both tls.${inline} and tls.${file}`, `one of them`);
  }
  if (value !== undefined) {
    if (!isPem(value))
      throw invalid(`tls.${inline}`, describe(value), 'a non-empty PEM string or Buffer');
    return value;
  }
  if (path === undefined) return undefined;
  return readPem(`tls.${file}`, path);
}

function readPem(option: string, path: unknown): Buffer {
  if (typeof path !== 'string' || path === '') throw invalid(option, describe(path), 'a file path');
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch (error) {
    throw new InvalidConfigError(TlsMessages.unreadable(option, path, error));
  }
  if (contents.length === 0)
    throw invalid(option, `the empty file ${JSON.stringify(path)}`, 'a PEM file');
  return contents;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** `ca` or the contents of `caFile`, each entry checked to hold PEM certificates. */
function caOption(options: TlsOptions): Pem[] | undefined {
  if (options.ca !== undefined && options.caFile !== undefined) {
    throw invalid('tls.ca', 'both tls.ca and tls.caFile', 'one of them');
  }
  let entries: { option: string; value: unknown }[];
  if (options.ca !== undefined) {
    const list: readonly unknown[] = Array.isArray(options.ca) ? options.ca : [options.ca];
    entries = list.map(value => ({ option: 'tls.ca', value }));
  } else if (options.caFile !== undefined) {
    const files: readonly unknown[] = Array.isArray(options.caFile)
      ? options.caFile
      : [options.caFile];
    entries = files.map(file => ({ option: 'tls.caFile', value: readPem('tls.caFile', file) }));
  } else return undefined;
  if (entries.length === 0) return undefined;
  const pems: Pem[] = [];
  for (const { option, value } of entries) {
    if (!isPem(value)) throw invalid(option, describe(value), 'PEM CA certificates');
    const blocks = value.toString('latin1').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw invalid(option, describe(value), 'PEM CA certificates');
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch {
        throw invalid(option, 'a malformed PEM certificate', 'PEM CA certificates');
      }
    }
    pems.push(value);
  }
  return pems;
}

// ---------------------------------------------------------------------------------------------
// Connections

/**
 * Opens a TLS connection to `node` at `address:port`. The server is always verified against the
 * CAs; with `verifyNodeName`, its certificate must name the node's host (SNI carries the host
 * when it is a DNS name; never an IP address, which SNI forbids).
 */
export function dialTls(tls: ResolvedTls, node: string, address: string, port: number): TLSSocket {
  const { host } = parseNodeName(node);
  const options: ConnectionOptions = {
    host: address,
    port,
    secureContext: tls.client,
    minVersion: tls.minVersion,
    rejectUnauthorized: true,
    checkServerIdentity: tls.verifyNodeName
      ? (_hostname, cert) => checkServerIdentity(host, cert)
      : () => undefined,
  };
  if (isIP(host) === 0) options.servername = host;
  return tlsConnect(options);
}

/**
 * Calls `onSecure` once the TLS handshake of a dialled socket is done, or `onFail` exactly once:
 * with a {@link TlsError} when the TLS handshake fails (deadline, error, close), or with a
 * `ConnectError` when the TCP connection itself could not be made. Errors emitted later are left to
 * the socket's other listeners; `lastError` gives the first one, for a clearer failure.
 */
export function awaitSecureConnect(
  socket: TLSSocket,
  tls: ResolvedTls,
  node: string,
  onSecure: () => void,
  onFail: (error: TlsError | ConnectError) => void,
): { lastError(): Error | undefined } {
  let first: Error | undefined;
  let settled = false;
  let connected = false;
  const failure = (error: Error | undefined): TlsError | ConnectError =>
    connected || !error
      ? toTlsError(error, node)
      : new ConnectError(`Could not reach ${node}: ${error.message}`, { node, cause: error });
  const settle = (error?: TlsError | ConnectError) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off('secureConnect', onSecureConnect);
    socket.off('close', onClose);
    if (error) {
      socket.destroy();
      onFail(error);
    } else onSecure();
  };
  const timer = setTimeout(
    () =>
      settle(
        connected
          ? new TlsError(
              'ERR_TLS_HANDSHAKE',
              TlsMessages.failed(node, 'timeout', TlsMessages.timeout(tls.handshakeTimeoutMs)),
              { reason: 'timeout', peer: node },
            )
          : new ConnectError(`Could not reach ${node} within ${tls.handshakeTimeoutMs} ms.`, {
              code: 'ERR_CONNECT_TIMEOUT',
              node,
            }),
      ),
    tls.handshakeTimeoutMs,
  );
  timer.unref();
  const onSecureConnect = () => settle();
  const onClose = () => settle(failure(first));
  // A permanent listener: a socket error never goes unhandled, whoever owns the socket then.
  socket.on('error', error => {
    first ??= error;
    if (!settled) settle(failure(error));
  });
  socket.once('connect', () => (connected = true));
  socket.once('secureConnect', onSecureConnect);
  socket.once('close', onClose);
  return { lastError: () => first };
}

/**
 * Whether the client certificate of an accepted socket names the host of the node the peer proved
 * the cookie for. Returns `undefined` when it does, else the names the certificate holds.
 */
export function clientCertificateNameProblem(socket: TLSSocket, node: string): string | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return 'no certificate';
  const { host } = parseNodeName(node);
  return checkServerIdentity(host, cert) ? namesOf(cert) : undefined;
}

function namesOf(cert: PeerCertificate): string {
  const names = cert.subjectaltname ? cert.subjectaltname : 'no subject alternative name';
  const cn = cert.subject?.CN;
  return cn ? `${names} (subject CN=${String(cn)})` : names;
}

const REASONS: Record<string, TlsFailureReason> = {
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate-name',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'no-certificate',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'no-certificate',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'handshake-failure',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted-certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted-certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted-certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted-certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted-certificate',
  CERT_SIGNATURE_FAILURE: 'untrusted-certificate',
  CERT_UNTRUSTED: 'untrusted-certificate',
  CERT_REJECTED: 'untrusted-certificate',
  INVALID_CA: 'untrusted-certificate',
  INVALID_PURPOSE: 'untrusted-certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'untrusted-certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'untrusted-certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'untrusted-certificate',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'untrusted-certificate',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'untrusted-certificate',
  CERT_HAS_EXPIRED: 'certificate-expired',
  CERT_NOT_YET_VALID: 'certificate-expired',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'certificate-expired',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'version',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'version',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'version',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not-tls',
  ERR_SSL_HTTP_REQUEST: 'not-tls',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'not-tls',
  ERR_SSL_RECORD_LENGTH_MISMATCH: 'not-tls',
  ERR_SSL_UNKNOWN_PROTOCOL: 'not-tls',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'timeout',
  ECONNRESET: 'closed',
  EPIPE: 'closed',
};

/** Classifies a Node/OpenSSL error of a TLS handshake. */
export function tlsFailureReason(error: unknown): TlsFailureReason {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (typeof code === 'string' && REASONS[code]) || 'tls';
}

/**
 * The {@link TlsError} for a failed TLS handshake with `peer` (a node dialled or an address that
 * connected); `error` is Node's error, `undefined` for a close without one.
 */
export function toTlsError(error: Error | undefined, peer: string): TlsError {
  if (error instanceof TlsError) return error;
  const reason = error ? tlsFailureReason(error) : 'closed';
  const text = error ? `${plainMessage(error.message)}${codeOf(error)}` : '';
  const detail =
    reason === 'closed'
      ? TlsMessages.closed()
      : reason === 'not-tls'
        ? TlsMessages.notTls(text)
        : reason === 'certificate-name'
          ? TlsMessages.serverName(peer, text)
          : text;
  return new TlsError(
    reason === 'certificate-name' ? 'ERR_TLS_CERT_NAME' : 'ERR_TLS_HANDSHAKE',
    TlsMessages.failed(peer, reason, detail),
    { reason, peer },
    { cause: error },
  );
}

/** OpenSSL's reason out of its `<id>:error:<code>:<lib>:<func>:<reason>:<file>:<line>:` text. */
function plainMessage(message: string): string {
  const reason = /error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+)/.exec(message)?.[1];
  return (reason ?? message).trim();
}

function codeOf(error: Error | undefined): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && !(error?.message ?? '').includes(code) ? ` [${code}]` : '';
}
