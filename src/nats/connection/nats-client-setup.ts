/**
 * What {@link NatsLink} needs of the NATS client besides its public calls: the client options
 * built from the resolved options (authenticator, TLS, reconnect policy), the classification of a
 * failed first connect (retry, or give up for good), and the outbound bytes the client holds.
 * Only types are imported from `@nats-io/*`: the module itself is passed in, loaded lazily.
 */
import type * as NatsClient from '@nats-io/transport-node';
import type { Authenticator, NodeConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { type PeerCertificate, checkServerIdentity } from 'node:tls';
import { InvalidConfigError, toError } from '../../core/index.js';
import { NatsConnectionError } from './nats-connection.errors.js';
import { NatsConnectionMessages } from './nats-connection.messages.js';
import {
  NATS_CONNECTION_DEFAULTS,
  type ResolvedNatsConnection,
} from './nats-connection-options.js';

/** The `@nats-io/transport-node` module, as loaded by `import()`. */
export type NatsClientModule = typeof NatsClient;

/**
 * The authenticator for the credentials given, `undefined` without any. The seed and the creds are
 * tried once on a made-up nonce, so a seed that cannot sign fails at open, not at each connect.
 * @throws InvalidConfigError naming the file when the nkey seed or the creds cannot be used.
 */
export function buildAuthenticator(
  mod: NatsClientModule,
  o: ResolvedNatsConnection,
): Authenticator | undefined {
  const s = o.secrets.reveal();
  let auth: Authenticator | undefined;
  let key: string | undefined;
  switch (o.auth) {
    case 'none':
      return undefined;
    case 'password':
      return mod.usernamePasswordAuthenticator(o.user!, s.password!);
    case 'token':
      return mod.tokenAuthenticator(s.token!);
    case 'nkey': {
      const seed = new TextEncoder().encode(s.seed!);
      auth = mod.nkeyAuthenticator(seed);
      key = 'nkeySeedFile';
      break;
    }
    case 'creds':
      auth = mod.credsAuthenticator(new TextEncoder().encode(s.creds!));
      key = 'credsFile';
      break;
  }
  const option = `${o.optionPrefix}.${key}`;
  try {
    auth('Z2VuLWNsdXN0ZXItY2hlY2s');
  } catch (error) {
    const reason = toError(error).message;
    const file = o.files[key] ?? '';
    throw new InvalidConfigError(
      key === 'nkeySeedFile'
        ? NatsConnectionMessages.badSeed(option, file, reason)
        : NatsConnectionMessages.badCreds(option, file, reason),
      { option },
    );
  }
  return auth;
}

/**
 * The client's options: reconnect never gives up, an auth failure after the first connect is
 * retried (credentials may be fixed on the server), client pings every `pingIntervalMs` with 2
 * unanswered allowed, TLS when required. The first connect is not retried by the client
 * (`waitOnFirstConnect` false): {@link NatsLink} retries it itself, so that it can stop at once.
 * After losing a server the client redials that same server first: for a silent one that costs a
 * whole connect timeout. So the first attempt after a loss goes to another server of the list
 * (the lost one keeps its turn after that).
 * @param isClosing tells the client to stop dialling (checked before each attempt)
 */
export function buildClientOptions(
  o: ResolvedNatsConnection,
  name: string,
  authenticator: Authenticator | undefined,
  isClosing: () => boolean,
): NodeConnectionOptions {
  // the host of the server being dialled, for the certificate check below
  let dialling: string | undefined;
  // `listen@lastConnect` of the server skipped once after it was lost
  let skipped: string | undefined;
  const jitter = Math.min(100, Math.floor(o.reconnectTimeWaitMs / 2));
  return {
    servers: o.servers.map(s => s.listen),
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: false,
    ignoreAuthErrorAbort: true,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    reconnectJitter: jitter,
    reconnectJitterTLS: jitter,
    pingInterval: o.pingIntervalMs,
    maxPingOut: NATS_CONNECTION_DEFAULTS.maxPingOut,
    timeout: o.connectTimeoutMs,
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(o.tls ? { tls: tlsOptions(o, () => dialling) } : {}),
    reconnectToServer: pool => {
      // throwing here ends a pending connect or a reconnect loop: used by close()
      if (isClosing()) throw new Error(NatsConnectionMessages.closedWhileOpening());
      let pick = pool[0];
      // pool[0] is the client's choice; one it connected to that has not failed since (its
      // reconnects reset at each connect) is the server just lost
      const lost = pick?.didConnect === true && pick.reconnects === 0 && pool.length > 1;
      const key = `${pick?.listen}@${pick?.lastConnect}`;
      if (lost && skipped !== key) {
        skipped = key;
        pick = pool[1];
      }
      dialling = pick?.hostname;
      return pick === pool[0] ? null : pick!;
    },
  };
}

/**
 * The client's TLS options: the CA, certificate and key read at resolution, and a certificate
 * check that knows the host. The client upgrades the socket without telling Node the host (it
 * sends no SNI for an IP address), so Node checks the certificate against "localhost": a server
 * addressed by IP (its certificate naming `IP:10.0.0.1`) would be refused. The check uses the host
 * being dialled instead (learnt before each dial); a host name the client does pass is checked
 * as it is.
 */
function tlsOptions(
  o: ResolvedNatsConnection,
  dialling: () => string | undefined,
): NonNullable<NodeConnectionOptions['tls']> {
  const material = o.secrets.reveal().tls;
  const extra = {
    checkServerIdentity: (host: string, cert: PeerCertificate): Error | undefined => {
      const target = dialling();
      return checkServerIdentity(host === 'localhost' && target ? target : host, cert);
    },
  };
  return { ...material, ...extra };
}

/** Node's codes for a server certificate that is not trusted or names another host. */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The error and its causes, outermost first (at most 5 deep). */
function chain(error: unknown): Error[] {
  const out: Error[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && out.length < 5;) {
    const err = toError(e);
    out.push(err);
    e = (err as { cause?: unknown }).cause;
  }
  return out;
}

/** Whether NATS said the credentials are refused or expired. */
export function isAuthError(error: unknown): boolean {
  return chain(error).some(
    e =>
      e.name === 'AuthorizationError' ||
      e.name === 'UserAuthenticationExpiredError' ||
      /authorization violation|authentication expired/i.test(e.message),
  );
}

/** A short reason for logs and status: the client's message and a Node code, never a credential. */
export function describeClientError(error: unknown): string {
  const errors = chain(error);
  const code = errors
    .map(e => (e as NodeJS.ErrnoException).code)
    .find(c => typeof c === 'string' && c !== '');
  const message = errors[0]?.message.replace(/^'|'$/g, '') || 'unknown error';
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * The error a failed first connect ends `open` with, or `undefined` when retrying may help (the
 * server is down, unreachable, or timed out). Given up: credentials refused, a certificate not
 * trusted or naming another host, a client certificate refused, TLS required but not offered.
 */
export function fatalFirstConnectError(
  error: unknown,
  o: ResolvedNatsConnection,
): NatsConnectionError | undefined {
  const servers = o.servers.map(s => s.url).join(', ');
  if (isAuthError(error))
    return new NatsConnectionError(NatsConnectionMessages.authRefused(servers, o.auth), {
      code: 'ERR_NATS_AUTH',
      cause: error,
    });
  const errors = chain(error);
  const codes = errors.map(e => String((e as NodeJS.ErrnoException).code ?? ''));
  if (
    codes.some(c => TLS_VERIFY_CODES.has(c) || /^ERR_SSL_.*ALERT/.test(c)) ||
    errors.some(e => /certificate required|unknown ca|bad certificate/i.test(e.message))
  )
    return new NatsConnectionError(
      NatsConnectionMessages.tlsRefused(servers, describeClientError(error)),
      { code: 'ERR_NATS_TLS', cause: error },
    );
  if (errors.some(e => /does not support 'tls'|tls.*not available on this server/i.test(e.message)))
    return new NatsConnectionError(NatsConnectionMessages.tlsUnsupported(servers), {
      code: 'ERR_NATS_TLS',
      cause: error,
    });
  return undefined;
}

/** The connected client's internals read by {@link pendingOutboundBytes}; absent ones are 0. */
interface ClientInternals {
  readonly protocol?: {
    readonly connected?: unknown;
    readonly outbound?: { size?: () => unknown };
    readonly transport?: {
      readonly socket?: { readonly writableLength?: unknown; destroy?: () => unknown };
    };
  };
}

/**
 * The bytes the client holds for sending: its own outbound buffer (commands not yet handed to the
 * socket; it hands them over at the next microtask) plus what the socket has not written yet (the
 * kernel's buffer was full). The client exposes no public figure: this reads its internals and
 * gives 0 for any part it does not find (a later client version).
 */
export function pendingOutboundBytes(nc: NatsConnection): number {
  const protocol = (nc as unknown as ClientInternals).protocol;
  let total = 0;
  try {
    const size = protocol?.outbound?.size?.();
    if (typeof size === 'number' && Number.isFinite(size)) total += size;
    const writable = protocol?.transport?.socket?.writableLength;
    if (typeof writable === 'number' && Number.isFinite(writable)) total += writable;
  } catch {
    // a client version with other internals: no figure
  }
  return total;
}

/**
 * `false` when the client's own flag says the socket is gone, a moment before the status event
 * arrives; `true` otherwise (also when the flag is not found).
 */
export function clientSaysConnected(nc: NatsConnection): boolean {
  return (nc as unknown as ClientInternals).protocol?.connected !== false;
}

/**
 * Destroys the client's socket. Works around the client hanging on a stale connection with a
 * backlog: it closes the transport by first writing an empty chunk and waiting for it to be
 * written, which never happens while the silent server reads nothing, so it never reconnects.
 * With the socket destroyed the pending write fails, and the client's usual disconnect and
 * reconnect (to another server of the list) follow. No-op when the internals are not found.
 */
export function destroyClientSocket(nc: NatsConnection): void {
  try {
    (nc as unknown as ClientInternals).protocol?.transport?.socket?.destroy?.();
  } catch {
    // a client version with other internals: nothing to do
  }
}

/**
 * Waits for `promise` at most `ms`: `true` when the deadline came first (the promise goes on), `false`
 * when it settled in time; its rejection is thrown.
 */
export async function withDeadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<true>(resolve => {
    timer = setTimeout(() => resolve(true), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => false), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
