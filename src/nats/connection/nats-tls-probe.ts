/**
 * Tells why a TLS connect to NATS timed out when the cause is a client certificate. Under TLS 1.3
 * a server that refuses the client's certificate (or gets none) does so after the client finished
 * its handshake: the client sees no error, only a NATS handshake that never completes, and times
 * out. NATS says in its first line (INFO, in clear, before TLS) whether it verifies clients
 * (`tls_verify`): when it does, the timeout is the certificate's fault, and retrying will not help.
 */
import { connect } from 'node:net';
import { describeClientError } from './nats-client-setup.js';
import { NatsConnectionError } from './nats-connection.errors.js';
import { NatsConnectionMessages as M } from './nats-connection.messages.js';
import type { ResolvedNatsConnection } from './nats-connection-options.js';
import type { NatsServerAddress } from './nats-servers.js';

/** How long the probe waits for a server's INFO line. */
const PROBE_TIMEOUT_MS = 1_000;

/**
 * For a TLS connect that timed out: the ERR_NATS_TLS error when the first server that answers
 * verifies client certificates, else `undefined`.
 */
export async function clientCertFault(
  error: unknown,
  o: ResolvedNatsConnection,
): Promise<NatsConnectionError | undefined> {
  if (!o.tls || !/timeout/i.test(describeClientError(error))) return undefined;
  for (const server of o.servers) {
    const verifies = await serverVerifiesClients(server, PROBE_TIMEOUT_MS);
    if (verifies === undefined) continue;
    if (!verifies) return undefined;
    const message = o.files['tls.certFile']
      ? M.clientCertRefused(server.url)
      : M.clientCertRequired(server.url);
    return new NatsConnectionError(message, { code: 'ERR_NATS_TLS', cause: error });
  }
  return undefined;
}

/** Longest INFO line read. */
const MAX_INFO_BYTES = 64 * 1024;

/**
 * Whether `server` announces `tls_verify` in its INFO line; `undefined` when it cannot tell (no
 * answer within `timeoutMs`, not NATS, or the server starts with TLS at once).
 */
export function serverVerifiesClients(
  server: NatsServerAddress,
  timeoutMs: number,
): Promise<boolean | undefined> {
  return new Promise(resolve => {
    let buffered = '';
    const socket = connect({ host: server.host, port: server.port });
    const done = (answer: boolean | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    timer.unref();
    socket.setEncoding('latin1');
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n');
      if (end < 0) {
        if (buffered.length > MAX_INFO_BYTES) done(undefined);
        return;
      }
      const match = /^INFO\s+(\{.*\})\s*$/i.exec(buffered.slice(0, end));
      if (match === null) return done(undefined);
      try {
        const info = JSON.parse(match[1]!) as { tls_verify?: unknown };
        done(info.tls_verify === true);
      } catch {
        done(undefined);
      }
    });
  });
}
