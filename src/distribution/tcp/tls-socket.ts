/**
 * TLS on the sockets of the TCP dist: dialling with server verification bound to node names,
 * waiting for a dialled socket's TLS handshake, checking an accepted client's certificate, and
 * turning Node/OpenSSL failures into typed {@link TlsError}s with a stable `reason`.
 */
import { isIP } from 'node:net';
import {
  type ConnectionOptions,
  type TLSSocket,
  checkServerIdentity,
  connect as tlsConnect,
} from 'node:tls';
import { ConnectError, parseNodeName } from '../../core/index.js';
import { TlsError, type TlsFailureReason } from './tcp.errors.js';
import { TlsMessages as M } from './tcp.messages.js';
import { type ResolvedTls, certificateNames } from './tls-options.js';
import type { AddressTarget } from './dialer.js';

/**
 * Opens a TLS connection to `node` at `target` (its address, or its host with the addresses to
 * try) on `port`. The server is always verified against the CAs; with `verifyNodeName`, its
 * certificate must name the node's host (SNI carries the host when it is a DNS name; never an IP
 * address, which SNI forbids).
 */
export function dialTls(
  tls: ResolvedTls,
  node: string,
  target: AddressTarget,
  port: number,
): TLSSocket {
  const { host } = parseNodeName(node);
  const options: ConnectionOptions = {
    ...target,
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
      : new ConnectError(M.unreachable(node, error.message), { node, cause: error });
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
          ? new TlsError(M.failed(node, 'timeout', M.timeout(tls.handshakeTimeoutMs)), {
              reason: 'timeout',
              peer: node,
            })
          : new ConnectError(M.unreachableWithin(node, tls.handshakeTimeoutMs), {
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
  if (!cert || Object.keys(cert).length === 0) return M.noClientCertificate();
  const { host } = parseNodeName(node);
  return checkServerIdentity(host, cert) ? certificateNames(cert) : undefined;
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
      ? M.closed()
      : reason === 'not-tls'
        ? M.notTls(text)
        : reason === 'certificate-name'
          ? M.serverName(peer, text)
          : text;
  return new TlsError(M.failed(peer, reason, detail), { reason, peer, cause: error });
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
