import type { IncomingMessage } from 'node:http';
import { toError, withDeadline } from '../core/index.js';

/**
 * What the hand-written API clients (Kubernetes, etcd) share about one HTTP exchange: how a
 * socket error is classified and how an answer's body is read within bounds. Each client keeps
 * its own error class and messages; it passes a factory for them.
 */

/** Node's codes of a TLS failure (certificate, signature, issuer, host name). */
const TLS_CODE = /CERT|SIGNATURE|ISSUER|TLS|SSL|ALTNAME/i;

/** A socket-level failure: no answer came. */
export interface NetworkFailure {
  readonly kind: 'network';
  readonly code: string;
  readonly message: string;
  /** Whether the code says TLS failed (a certificate, not the network). */
  readonly tls: boolean;
}

/**
 * The network failure `error` describes; its fields are read rather than trusting `instanceof`,
 * since errors may come from another realm.
 */
export function networkFailure(error: unknown): NetworkFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  const message = typeof e.message === 'string' ? e.message : toError(error).message;
  return { kind: 'network', code, message, tls: TLS_CODE.test(code) };
}

/** An answer that ended before it was complete (the peer reset or closed the connection). */
export function brokeOff(message: string): NetworkFailure {
  return { kind: 'network', code: 'ECONNRESET', message, tls: false };
}

/** The errors {@link readBody} raises, built by the client that reads. */
export interface BodyErrors {
  /** The body grew past `maxBytes`. */
  readonly tooLarge: (maxBytes: number) => Error;
  /** The answer ended before it was complete. */
  readonly brokeOff: () => Error;
  /** The socket failed while reading. */
  readonly network: (error: unknown) => Error;
  /** `timeoutMs` passed. */
  readonly timeout: () => Error;
}

/**
 * Reads an answer's body as text, within `maxBytes` and `timeoutMs` (and `signal`); on any failure
 * the answer is destroyed, so nothing more is read from it.
 */
export function readBody(
  res: IncomingMessage,
  limits: { readonly maxBytes: number; readonly timeoutMs: number },
  signal: AbortSignal | undefined,
  errors: BodyErrors,
): Promise<string> {
  return withDeadline(
    () =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxBytes) {
            reject(errors.tooLarge(limits.maxBytes));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', error => reject(errors.network(error)));
        res.on('close', () => {
          if (!res.complete) reject(errors.brokeOff());
        });
      }),
    { ms: limits.timeoutMs, signal, onTimeout: errors.timeout },
  ).catch((error: unknown) => {
    res.destroy();
    throw error;
  });
}
