import {
  Agent as HttpAgent,
  type ClientRequest,
  type IncomingMessage,
  request as httpRequest,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { toError, withDeadline } from '../../core/index.js';
import { GatewayShapeError, decodeGatewayError, decodeToken } from './etcd-gateway.js';
import {
  type EtcdFailure,
  EtcdRequestError,
  etcdRequestError,
  isInvalidToken,
} from './etcd.errors.js';
import { EtcdMessages as M } from './etcd.messages.js';
import { JsonLines } from './json-lines.js';
import { brokeOff, networkFailure, readBody } from '../http-exchange.js';

/** Settings of an {@link EtcdClient}. */
export interface EtcdClientOptions {
  /** Origins of the members, asked in turn (round robin on failure). */
  readonly endpoints: readonly string[];
  /** Deadline of one request to one endpoint (a watch: until its headers arrive). */
  readonly requestTimeoutMs: number;
  /** etcd user; with `password`, the client authenticates and sends the token. */
  readonly username?: string;
  /** Returns the password (read again at each authentication: a password file may change). */
  readonly password?: () => string;
  /** TLS: CA bundle (PEM; the system CAs when unset), client certificate and key. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Largest answer, and longest watch line, accepted. */
  readonly maxBodyBytes: number;
}

/** Handlers of a watch stream. */
export interface StreamHandlers {
  readonly signal: AbortSignal;
  /** One parsed line; throwing ends the stream with that error. */
  readonly onValue: (value: unknown) => void;
  /** The stream is cut after this long (a connection that died silently would hang it). */
  readonly maxDurationMs: number;
  /** The stream is open (status 200) on `endpoint`. */
  readonly onOpen?: (endpoint: string) => void;
}

/**
 * How a stream ended: `'end'` when the server ended it, `'cut'` when `maxDurationMs` passed (a
 * planned end, not a failure).
 */
export type StreamEnd = 'end' | 'cut';

/** The `withDeadline` rejection of a stream's planned cut, caught inside `stream()`. */
class StreamCut extends Error {}

/** How often a streaming connection probes a silent peer (TCP keepalive). */
const STREAM_KEEPALIVE_MS = 10_000;

const MAX_ERROR_BODY = 64 * 1024;
const AUTHENTICATE = '/v3/auth/authenticate';

/**
 * A small client for etcd's HTTP/JSON v3 gateway over `node:http`/`node:https`: POST a JSON
 * request and read its JSON answer, or follow a streaming answer line by line.
 *
 * - Failover: requests go to the current endpoint; a network failure, a timeout or a 5xx moves to
 *   the next endpoint (round robin) and tries it, each endpoint at most once per call.
 * - Auth: with `username`, a token from `/v3/auth/authenticate` is sent as the `Authorization`
 *   header (the raw token, no scheme). Tokens are per member (etcd's simple tokens), so one is kept
 *   per endpoint; an "invalid auth token" answer (expired, or etcd restarted) drops it,
 *   authenticates again and retries once.
 * - TLS is always verified (against `ca` when given); there is no way to turn it off.
 */
export class EtcdClient {
  private current = 0;
  private readonly tokens = new Map<string, string>();
  private readonly authenticating = new Map<string, Promise<string>>();
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;

  constructor(private readonly options: EtcdClientOptions) {
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 2 });
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 8,
      maxFreeSockets: 2,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
    });
  }

  /** The endpoint requests go to now. */
  get endpoint(): string {
    return this.options.endpoints[this.current]!;
  }

  /** POSTs `body` to `path` and parses the JSON answer. */
  call(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.attempt(signal, async (endpoint, token) => {
      const started = performance.now();
      const { res } = await this.open(endpoint, path, body, token, signal);
      const left = Math.max(1, this.options.requestTimeoutMs - (performance.now() - started));
      const text = await this.readText(
        res,
        endpoint,
        path,
        this.options.maxBodyBytes,
        left,
        signal,
      );
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw etcdRequestError(
          { kind: 'protocol', message: M.notJson(toError(error).message) },
          path,
          endpoint,
        );
      }
    });
  }

  /**
   * Opens a streaming call (`/v3/watch`) and hands on each line: resolves when the server ends the
   * stream or `maxDurationMs` passes (see {@link StreamEnd}), rejects with an
   * {@link EtcdRequestError} when it is refused or breaks off, with the handler's error, or with
   * the abort reason.
   *
   * The request requires a leader (`Grpc-Metadata-Hasleader`, clientv3's `WithRequireLeader`):
   * a member that loses its leader cancels the watch instead of keeping it silently open.
   */
  async stream(path: string, body: unknown, handlers: StreamHandlers): Promise<StreamEnd> {
    const { signal } = handlers;
    const { req, res, endpoint } = await this.attempt(signal, async (endpoint, token) => ({
      ...(await this.open(endpoint, path, body, token, signal, true)),
      endpoint,
    }));
    handlers.onOpen?.(endpoint);
    const lines = new JsonLines(this.options.maxBodyBytes);
    try {
      await withDeadline(
        live =>
          new Promise<void>((resolve, reject) => {
            let failed = false;
            const fail = (error: unknown) => {
              failed = true;
              req.destroy();
              reject(error);
            };
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              if (failed || live.aborted) return;
              let values: unknown[];
              try {
                values = lines.push(chunk);
              } catch (error) {
                const message =
                  error instanceof RangeError
                    ? M.lineTooLarge(this.options.maxBodyBytes)
                    : M.notJson(toError(error).message);
                return fail(etcdRequestError({ kind: 'protocol', message }, path, endpoint));
              }
              for (const value of values) {
                if (failed || live.aborted) return;
                try {
                  handlers.onValue(value);
                } catch (error) {
                  return fail(error);
                }
              }
            });
            res.on('end', () => resolve());
            res.on('error', error => fail(networkError(error, path, endpoint)));
            res.on('close', () => {
              if (res.complete) resolve();
              else fail(etcdRequestError(brokeOff(M.streamBrokeOff()), path, endpoint));
            });
          }),
        {
          ms: handlers.maxDurationMs,
          signal,
          onTimeout: () => new StreamCut(),
        },
      );
      return 'end';
    } catch (error) {
      if (error instanceof StreamCut) return 'cut';
      throw error;
    } finally {
      // Ended, cut, aborted or failed: the stream must not outlive the call.
      req.destroy();
    }
  }

  /** Forgets the token of `endpoint` (the current one by default), so the next call authenticates. */
  invalidateToken(endpoint = this.endpoint): void {
    this.tokens.delete(endpoint);
  }

  /** Closes every connection. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // --- internals -------------------------------------------------------------------------------

  /**
   * Runs `op` on the current endpoint with its token; an invalid token is renewed once; a failure
   * that says nothing about the request (network, timeout, 5xx) moves on to the next endpoint.
   */
  private async attempt<T>(
    signal: AbortSignal | undefined,
    op: (endpoint: string, token: string | undefined) => Promise<T>,
  ): Promise<T> {
    const count = this.options.endpoints.length;
    for (let tried = 1; ; tried++) {
      // The caller's signal bounds the whole call, every endpoint and retry included.
      if (signal?.aborted) throw toError(signal.reason);
      const endpoint = this.endpoint;
      try {
        let token = await this.tokenFor(endpoint, signal);
        try {
          return await op(endpoint, token);
        } catch (error) {
          if (token === undefined || !isInvalidToken(error)) throw error;
          if (this.tokens.get(endpoint) === token) this.tokens.delete(endpoint);
          token = await this.tokenFor(endpoint, signal);
          return await op(endpoint, token);
        }
      } catch (error) {
        if (signal?.aborted) throw toError(signal.reason);
        if (tried >= count || !failsOver(error)) throw error;
        if (this.endpoint === endpoint) this.current = (this.current + 1) % count;
      }
    }
  }

  private async tokenFor(
    endpoint: string,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    if (this.options.username === undefined) return undefined;
    const token = this.tokens.get(endpoint);
    if (token !== undefined) return token;
    let pending = this.authenticating.get(endpoint);
    if (pending === undefined) {
      // Shared by every caller, so bound only by its own deadlines: one caller giving up must not
      // fail the others. Each caller races its own signal below.
      pending = this.authenticate(endpoint).finally(() => this.authenticating.delete(endpoint));
      pending.catch(() => undefined);
      this.authenticating.set(endpoint, pending);
    }
    if (signal === undefined) return pending;
    const shared = pending;
    return withDeadline(() => shared, {
      ms: Infinity,
      signal,
      onTimeout: () => new Error('unreachable: no deadline'),
    });
  }

  private async authenticate(endpoint: string): Promise<string> {
    const user = this.options.username!;
    let password: string;
    try {
      password = this.options.password!();
    } catch (error) {
      throw etcdRequestError(
        { kind: 'auth', message: toError(error).message },
        AUTHENTICATE,
        endpoint,
        error,
      );
    }
    const started = performance.now();
    let res: IncomingMessage;
    try {
      ({ res } = await this.open(
        endpoint,
        AUTHENTICATE,
        { name: user, password },
        undefined,
        undefined,
      ));
    } catch (error) {
      if (
        error instanceof EtcdRequestError &&
        error.failure.kind === 'status' &&
        error.failure.status < 500
      ) {
        const message = M.authFailed(user, error.failure.message);
        throw etcdRequestError({ kind: 'auth', message }, AUTHENTICATE, endpoint, error);
      }
      throw error;
    }
    const left = Math.max(1, this.options.requestTimeoutMs - (performance.now() - started));
    const text = await this.readText(res, endpoint, AUTHENTICATE, MAX_ERROR_BODY, left, undefined);
    let token: string;
    try {
      token = decodeToken(JSON.parse(text));
    } catch (error) {
      const message =
        error instanceof GatewayShapeError ? error.message : M.notJson(toError(error).message);
      throw etcdRequestError({ kind: 'protocol', message }, AUTHENTICATE, endpoint);
    }
    this.tokens.set(endpoint, token);
    return token;
  }

  /** A 200 response to POST `path` at `endpoint`; any other status is thrown with etcd's message. */
  private async open(
    endpoint: string,
    path: string,
    body: unknown,
    token: string | undefined,
    signal: AbortSignal | undefined,
    streaming = false,
  ): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    const timeoutMs = this.options.requestTimeoutMs;
    const started = performance.now();
    const { req, res } = await this.send(
      endpoint,
      path,
      JSON.stringify(body),
      token,
      signal,
      streaming,
    );
    const status = res.statusCode ?? 0;
    if (status === 200) return { req, res };
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const text = await this.readText(res, endpoint, path, MAX_ERROR_BODY, left, signal).catch(
      () => '',
    );
    const { grpcCode, message } = decodeGatewayError(text);
    const failure: EtcdFailure = /user name is empty/i.test(message)
      ? { kind: 'auth', message: M.authNeeded(message) }
      : { kind: 'status', status, grpcCode, message };
    throw etcdRequestError(failure, path, endpoint);
  }

  /** Sends one POST and resolves when the response headers arrive, within the request timeout. */
  private send(
    endpoint: string,
    path: string,
    body: string,
    token: string | undefined,
    signal: AbortSignal | undefined,
    streaming: boolean,
  ): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    const timeoutMs = this.options.requestTimeoutMs;
    const https = endpoint.startsWith('https:');
    return withDeadline(
      live =>
        new Promise<{ req: ClientRequest; res: IncomingMessage }>((resolve, reject) => {
          const headers: Record<string, string> = {
            'Content-Type': 'application/json',
            'Content-Length': String(Buffer.byteLength(body)),
            'User-Agent': 'gen-cluster',
          };
          if (token !== undefined) headers.Authorization = token;
          if (streaming) headers['Grpc-Metadata-Hasleader'] = 'true';
          const req = (https ? httpsRequest : httpRequest)(`${endpoint}${path}`, {
            method: 'POST',
            agent: https ? this.httpsAgent : this.httpAgent,
            headers,
          });
          // A long-lived stream probes its connection, so a peer that vanished is noticed.
          if (streaming) req.on('socket', socket => socket.setKeepAlive(true, STREAM_KEEPALIVE_MS));
          const onAbort = () => req.destroy();
          live.addEventListener('abort', onAbort, { once: true });
          // Errors after the response are reported on the response; this keeps a late request
          // error from being unhandled.
          req.on('error', error => reject(networkError(error, path, endpoint)));
          req.on('response', res => {
            live.removeEventListener('abort', onAbort);
            if (live.aborted) res.destroy();
            else resolve({ req, res });
          });
          req.end(body);
        }),
      {
        ms: timeoutMs,
        signal,
        onTimeout: () => etcdRequestError({ kind: 'timeout', ms: timeoutMs }, path, endpoint),
      },
    );
  }

  /** Reads a response body as text, within `maxBytes` and `timeoutMs`. */
  private readText(
    res: IncomingMessage,
    endpoint: string,
    path: string,
    maxBytes: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const requestTimeoutMs = this.options.requestTimeoutMs;
    const fail = (failure: EtcdFailure) => etcdRequestError(failure, path, endpoint);
    return readBody(res, { maxBytes, timeoutMs }, signal, {
      tooLarge: max => fail({ kind: 'protocol', message: M.answerTooLarge(max) }),
      brokeOff: () => fail(brokeOff(M.answerBrokeOff())),
      network: error => networkError(error, path, endpoint),
      timeout: () => fail({ kind: 'timeout', ms: requestTimeoutMs }),
    });
  }
}

/** Whether another endpoint may do better: no answer, or a server-side failure. */
function failsOver(error: unknown): boolean {
  if (!(error instanceof EtcdRequestError)) return false;
  const f = error.failure;
  return f.kind === 'network' || f.kind === 'timeout' || (f.kind === 'status' && f.status >= 500);
}

function networkError(error: unknown, path: string, endpoint: string): EtcdRequestError {
  if (error instanceof EtcdRequestError) return error;
  return etcdRequestError(networkFailure(error), path, endpoint, error);
}
