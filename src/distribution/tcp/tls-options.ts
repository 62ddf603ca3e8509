/**
 * The `tls` option of the TCP dist (the counterpart of Erlang's `inet_tls_dist` settings):
 * validation at construction and the `node:tls` settings of both sides. The cookie handshake
 * still runs inside TLS, as in OTP ("cookies are still used over TLS").
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type PeerCertificate,
  type SecureContext,
  type TlsOptions as NodeTlsServerOptions,
  checkServerIdentity,
  createSecureContext,
} from 'node:tls';
import {
  InvalidConfigError,
  checkMilliseconds,
  describeValue,
  parseNodeName,
} from '../../core/index.js';
import { TlsMessages as M } from './tcp.messages.js';

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

/** Validated TLS settings, ready for `node:tls` (not part of the public API). */
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

type Pem = string | Buffer;

/**
 * Validates the `tls` option and prepares the contexts of both sides.
 * @throws InvalidConfigError naming the option: half-configured credentials (cert without key,
 * key without cert, mutual without ca), unreadable files, values that are not PEM, a key that does
 * not belong to the certificate, a version below TLS 1.2, a bad timeout.
 */
export function resolveTlsOptions(options: TlsOptions): ResolvedTls {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid(M.notAnObject(describe(options)));
  }
  const mutual = booleanOption('tls.mutual', options.mutual, DEFAULT_TLS_OPTIONS.mutual);
  const verifyNodeName = booleanOption(
    'tls.verifyNodeName',
    options.verifyNodeName,
    DEFAULT_TLS_OPTIONS.verifyNodeName,
  );
  const minVersion = options.minVersion ?? DEFAULT_TLS_OPTIONS.minVersion;
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    throw invalid(M.minVersion(describe(minVersion)));
  }
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_TLS_OPTIONS.handshakeTimeoutMs;
  checkMilliseconds('tls.handshakeTimeoutMs', handshakeTimeoutMs);

  const cert = pemOption(options, 'cert', 'certFile');
  const key = pemOption(options, 'key', 'keyFile');
  if (cert === undefined && key === undefined) throw invalid(M.noCredentials());
  if (cert === undefined) throw invalid(M.noCertificate());
  if (key === undefined) throw invalid(M.noKey());
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw invalid(M.notCertificate(certName(options), describe(cert)));
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw invalid(M.unusableKey(keyName(options)));
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw invalid(M.foreignKey(keyName(options), certName(options)));
  }

  const ca = caOption(options);
  if (ca === undefined && mutual) throw invalid(M.noCa());

  const common = { ca, minVersion };
  let client: SecureContext;
  try {
    client = createSecureContext(mutual ? { ...common, cert, key } : common);
  } catch (error) {
    throw invalid(M.unloadable(error));
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
    throw invalid(M.ownName(self, certificateNames(asPeer)));
  }
}

/** The names a certificate holds (subject alternative names and CN), for messages. */
export function certificateNames(cert: PeerCertificate): string {
  const names = cert.subjectaltname ? cert.subjectaltname : M.noAltName();
  const cn = cert.subject?.CN;
  return cn ? `${names} (subject CN=${String(cn)})` : names;
}

function invalid(message: string): InvalidConfigError {
  return new InvalidConfigError(message);
}

/** Describes a value for a message without quoting key material (PEM text, Buffers). */
function describe(value: unknown): string {
  if (value === undefined) return M.nothing();
  if (typeof value === 'string' && (value.length > 40 || value.includes('-----'))) {
    return M.someString(value.length);
  }
  if (Buffer.isBuffer(value)) return M.someBuffer(value.length);
  return describeValue(value);
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(M.notBoolean(name, describe(value)));
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
  if (value !== undefined && path !== undefined) throw invalid(M.both(inline, file));
  if (value !== undefined) {
    if (!isPem(value)) throw invalid(M.notPem(`tls.${inline}`, describe(value)));
    return value;
  }
  if (path === undefined) return undefined;
  return readPem(`tls.${file}`, path);
}

function readPem(option: string, path: unknown): Buffer {
  if (typeof path !== 'string' || path === '') throw invalid(M.notPath(option, describe(path)));
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch (error) {
    throw invalid(M.unreadable(option, path, error));
  }
  if (contents.length === 0) throw invalid(M.emptyFile(option, path));
  return contents;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** `ca` or the contents of `caFile`, each entry checked to hold PEM certificates. */
function caOption(options: TlsOptions): Pem[] | undefined {
  if (options.ca !== undefined && options.caFile !== undefined)
    throw invalid(M.both('ca', 'caFile'));
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
    if (!isPem(value)) throw invalid(M.notCa(option, describe(value)));
    const blocks = value.toString('latin1').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw invalid(M.notCa(option, describe(value)));
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch {
        throw invalid(M.malformedCa(option));
      }
    }
    pems.push(value);
  }
  return pems;
}
