/**
 * User-facing texts of the NATS connection (option errors, connection errors, log lines), kept in
 * one place so they can be found and improved. None of them may hold a password, a token, a seed,
 * a creds file's content or a key: files are named by their path, credentials by their option.
 */

/** The environment variables the configuration maps onto each option, for the hints. */
const ENV: Readonly<Record<string, string>> = {
  user: 'GEN_CLUSTER_NATS_USER',
  passwordFile: 'GEN_CLUSTER_NATS_PASSWORD_FILE',
  tokenFile: 'GEN_CLUSTER_NATS_TOKEN_FILE',
  nkeySeedFile: 'GEN_CLUSTER_NATS_NKEY_SEED_FILE',
  credsFile: 'GEN_CLUSTER_NATS_CREDS_FILE',
  caFile: 'GEN_CLUSTER_NATS_CA_FILE',
  certFile: 'GEN_CLUSTER_NATS_CERT_FILE',
  keyFile: 'GEN_CLUSTER_NATS_KEY_FILE',
};

const env = (key: string) => (ENV[key] === undefined ? '' : ` (or ${ENV[key]})`);

/** User-facing texts of the NATS connection (see the file header). */
export const NatsConnectionMessages = {
  // Options.
  accepts: {
    options:
      'an object such as { servers: "nats://127.0.0.1:4222" } (servers, user, password, passwordFile, token, tokenFile, nkeySeedFile, credsFile, tls, subjectPrefix, reconnectTimeWaitMs, pingIntervalMs, firstConnectWaitMs, connectTimeoutMs)',
    servers:
      'one NATS server or several: a string (comma-separated for several) or an array of strings, each "nats://host:port", "tls://host:port", "host:port", "host" (port 4222) or "[::1]:port", without credentials, path or query; at most 32',
    user: 'a non-empty user name without control characters or spaces',
    password: 'a non-empty string (better: "passwordFile", a file holding it)',
    token: 'a non-empty string (better: "tokenFile", a file holding it)',
    file: 'a non-empty path of a readable file',
    tls: 'an object { caFile?, certFile?, keyFile? } (an empty object requires TLS with the system CAs)',
    subjectPrefix:
      'one or more subject tokens joined by ".", each of letters, digits, "_" or "-", at most 64 characters in all, e.g. "gc"',
  },
  credentialsInServer: (option: string, shown: string) =>
    `Invalid option ${option}: ${shown} holds credentials; credentials in a server URL are refused (they end up in logs). Give them with "user" and "passwordFile", "tokenFile", "nkeySeedFile" or "credsFile" (or GEN_CLUSTER_NATS_USER / GEN_CLUSTER_NATS_PASSWORD_FILE / ...).`,
  passwordWithoutUser: (option: string) =>
    `Invalid option ${option}: a password is given without "user"${env('user')}.`,
  userWithoutPassword: (option: string) =>
    `Invalid option ${option}: "user" is given without "password" or "passwordFile"${env('passwordFile')}.`,
  both: (option: string, a: string, b: string) =>
    `Invalid option ${option}: give either "${a}" or "${b}", not both.`,
  severalMethods: (option: string, methods: readonly string[]) =>
    `Invalid option ${option}: several ways to authenticate are given (${methods.join(', ')}); give only one: user and password, a token, an nkey seed or a creds file.`,
  certWithoutKey: (option: string) =>
    `Invalid option ${option}: "certFile" and "keyFile" (a TLS client certificate and its key) go together; one is missing${env('keyFile')}.`,
  unreadableFile: (option: string, key: string, file: string, code: string) =>
    `Invalid option ${option}: cannot read ${file} (${code}); give a readable file${env(key)}.`,
  emptyFile: (option: string, file: string) => `Invalid option ${option}: ${file} is empty.`,
  notPem: (option: string, file: string) =>
    `Invalid option ${option}: ${file} holds no PEM block ("-----BEGIN ...").`,
  badTlsMaterial: (option: string, reason: string) =>
    `Invalid option ${option}: the TLS files cannot be used (${reason}); check that "certFile" and "keyFile" are a matching PEM certificate and key, and "caFile" a PEM CA bundle.`,
  notSeed: (option: string, file: string) =>
    `Invalid option ${option}: ${file} does not hold a NATS user nkey seed (one line of 58 base32 characters starting with "SU", as written by "nk -gen user" or createUser() of @nats-io/nkeys).`,
  badSeed: (option: string, file: string, reason: string) =>
    `Invalid option ${option}: the nkey seed in ${file} cannot sign (${reason}); write a user seed (starting with "SU") to it.`,
  notCreds: (option: string, file: string) =>
    `Invalid option ${option}: ${file} is not a NATS creds file (it needs a "-----BEGIN NATS USER JWT-----" block and a "-----BEGIN USER NKEY SEED-----" block, as written by "nsc generate creds").`,
  badCreds: (option: string, file: string, reason: string) =>
    `Invalid option ${option}: the creds file ${file} cannot be used (${reason}); generate it again with "nsc generate creds".`,

  // Connection errors.
  authRefused: (servers: string, method: string) =>
    `NATS at ${servers} refused the credentials (authorization violation, ${method}); check "user"/"passwordFile", "tokenFile", "nkeySeedFile" or "credsFile" (GEN_CLUSTER_NATS_*) against the server's authorization block. Retrying would not help.`,
  tlsRefused: (servers: string, reason: string) =>
    `The TLS connection to NATS at ${servers} failed (${reason}); check "tls.caFile" (the CA that signed the server's certificate), "tls.certFile"/"tls.keyFile" when the server verifies clients, and that the host names match the certificate. Retrying would not help.`,
  clientCertRequired: (server: string) =>
    `NATS at ${server} verifies client certificates (tls_verify) and the TLS connection did not complete: give "tls.certFile" and "tls.keyFile" (GEN_CLUSTER_NATS_CERT_FILE / GEN_CLUSTER_NATS_KEY_FILE), a certificate signed by a CA the server trusts. Retrying would not help.`,
  clientCertRefused: (server: string) =>
    `NATS at ${server} verifies client certificates (tls_verify) and did not accept this node's ("tls.certFile"): it must be signed by a CA in the server's tls ca_file, be valid now, and allow client authentication. Retrying would not help.`,
  tlsUnsupported: (servers: string) =>
    `NATS at ${servers} does not offer TLS but TLS is required (a tls:// server or a "tls" option); start the server with TLS (--tls ...) or use nats:// without "tls".`,
  closedWhileOpening: () => 'The NATS connection was closed while it was opening.',
  notConnected: (why: string) =>
    `Not connected to NATS (${why}); nothing was sent. The connection comes back by itself.`,
  payloadTooLarge: (bytes: number, max: number) =>
    `A NATS payload of ${bytes} bytes exceeds the server's max_payload of ${max} bytes; it was not sent.`,
  flushTimeout: (ms: number) => `NATS did not answer a flush within ${ms} ms.`,

  // Log lines.
  connected: (server: string) => `Connected to NATS at ${server}.`,
  reconnected: (server: string) => `Reconnected to NATS at ${server}.`,
  disconnected: (server: string) => `Disconnected from NATS at ${server}; reconnecting.`,
  stale: () => 'The NATS connection went stale (server pings unanswered); reconnecting.',
  notReachableYet: (servers: string, ms: number) =>
    `NATS at ${servers} is not reachable after ${ms} ms; going on cut off and connecting in the background.`,
  connectFailing: (servers: string, reason: string, waitMs: number) =>
    `Cannot connect to NATS at ${servers} (${reason}); retrying every ${waitMs} ms.`,
  authFailing: (servers: string, reason: string) =>
    `NATS at ${servers} refuses this node's credentials (${reason}); retrying, but a human must fix the credentials or the server's authorization (GEN_CLUSTER_NATS_*).`,
  serverError: (reason: string) => `NATS reported an error: ${reason}.`,
  lameDuck: (server: string) =>
    `NATS server ${server} entered lame duck mode (it is shutting down); the client moves to another server.`,
  subscriptionError: (subject: string, reason: string) =>
    `NATS ended the subscription to ${subject}: ${reason}.`,
  handlerThrew: (subject: string, reason: string) =>
    `A handler of NATS subject ${subject} threw: ${reason} (the message is dropped; this line is rate-limited).`,
  clientClosed: (reason: string) =>
    `The NATS client closed by itself (${reason}); opening a new connection.`,
  statusThrew: (reason: string) => `The NATS connectivity callback threw: ${reason}.`,
  loopFailed: (reason: string) => `The NATS connection loop failed unexpectedly: ${reason}.`,
  staleReason: () => 'stale connection',
  authReason: () => 'authorization violation',
  closedReason: () => 'connection closed',
  connectingReason: () => 'not connected yet',
} as const;
