import { readFile } from 'node:fs/promises';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { toError, withDeadline } from '../../core/index.js';
import { type KubeStatus, isKubeStatus } from './endpoint-slice.js';
import { KubeRequestError, kubeRequestError } from './kubernetes.errors.js';
import { KubernetesMessages as M } from './kubernetes.messages.js';
import { brokeOff, networkFailure, readBody } from '../http-exchange.js';

/** Settings of a {@link KubeApiClient}. */
export interface KubeApiClientOptions {
  /** `https://host:port[/prefix]` of the API server. The token goes to this origin only. */
  readonly apiServer: URL;
  /** PEM of the CA(s) the server certificate must chain to (the only ones trusted). */
  readonly ca: string;
  /** File holding the bearer token; re-read when older than `tokenReloadIntervalMs`, and on 401. */
  readonly tokenFile: string;
  readonly tokenReloadIntervalMs: number;
  /** Deadline of a whole list request, and of a watch request until its headers arrive. */
  readonly requestTimeoutMs: number;
  /** Largest response body accepted; 64 MiB by default. */
  readonly maxBodyBytes?: number;
}

/** Handlers of a watch stream. */
export interface WatchHandlers {
  readonly signal: AbortSignal;
  /** The server accepted the watch (status 200). */
  readonly onOpen: () => void;
  /** One parsed line of the stream. */
  readonly onValue: (value: unknown) => void;
  /** The stream is cut if it lasts longer than this (a lost connection would otherwise hang). */
  readonly maxDurationMs: number;
}

const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;
const TOKEN = /^[\x21-\x7e]+$/;

/**
 * A small client for the Kubernetes API over `node:https`: GET a JSON document, or follow a watch
 * stream (newline-delimited JSON), with the service account's bearer token.
 *
 * - TLS is always verified, against the given CA only; there is no way to turn verification off.
 * - The token is sent only to `apiServer` (redirects are not followed: a 3xx is an error).
 * - The token file is re-read when the cached token is older than `tokenReloadIntervalMs` (bound
 *   service-account tokens rotate), and at once on a 401, after which the request is retried once.
 */
export class KubeApiClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly prefix: string;
  private token: string | undefined;
  private tokenReadAt = -Infinity;
  private tokenReading: Promise<string> | undefined;

  constructor(private readonly options: KubeApiClientOptions) {
    const url = options.apiServer;
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? 443 : Number(url.port);
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.agent = new Agent({ keepAlive: true, ca: options.ca, maxSockets: 8, maxFreeSockets: 2 });
  }

  /** Reads the token now (or returns the cached one while fresh). */
  async loadToken(force = false): Promise<string> {
    const fresh = performance.now() - this.tokenReadAt < this.options.tokenReloadIntervalMs;
    if (!force && this.token !== undefined && fresh) return this.token;
    this.tokenReading ??= this.readToken().finally(() => (this.tokenReading = undefined));
    return this.tokenReading;
  }

  /**
   * The ServiceAccount the token belongs to, as `namespace/name`, read from the token's (unverified)
   * `sub` claim; `undefined` when the token is not a service-account JWT or not read yet.
   */
  serviceAccount(): string | undefined {
    const payload = this.token?.split('.')[1];
    if (!payload) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        sub?: unknown;
      };
      const match =
        typeof claims.sub === 'string'
          ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub)
          : null;
      return match ? `${match[1]}/${match[2]}` : undefined;
    } catch {
      return undefined;
    }
  }

  /** GETs `path` (below the API server URL) and parses the JSON answer. */
  async getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const started = performance.now();
    const { res } = await this.open(path, signal, this.options.requestTimeoutMs);
    const left = Math.max(1, this.options.requestTimeoutMs - (performance.now() - started));
    const text = await readText(
      res,
      path,
      this.options.maxBodyBytes ?? DEFAULT_MAX_BODY,
      left,
      this.options.requestTimeoutMs,
      signal,
    );
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw kubeRequestError(
        { kind: 'protocol', message: M.notJson(toError(error).message) },
        path,
      );
    }
  }

  /**
   * Follows a watch stream: resolves when the server ends it cleanly, rejects with a
   * {@link KubeRequestError} when it is refused or breaks off, or with the abort reason.
   */
  async watch(path: string, handlers: WatchHandlers): Promise<void> {
    const { req, res } = await this.open(path, handlers.signal, this.options.requestTimeoutMs);
    handlers.onOpen();
    const maxLine = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    try {
      await withDeadline(
        live =>
          new Promise<void>((resolve, reject) => {
            let buffer = '';
            // Set at the first failure, so that no later line of the same chunk is handed on.
            let failed = false;
            const fail = (error: unknown) => {
              failed = true;
              req.destroy();
              reject(error);
            };
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              if (failed || live.aborted) return;
              buffer += chunk;
              let newline = buffer.indexOf('\n');
              while (newline >= 0 && !failed && !live.aborted) {
                const line = buffer.slice(0, newline).trim();
                buffer = buffer.slice(newline + 1);
                if (line !== '') {
                  let value: unknown;
                  try {
                    value = JSON.parse(line);
                  } catch (error) {
                    const message = M.eventNotJson(toError(error).message);
                    return fail(kubeRequestError({ kind: 'protocol', message }, path));
                  }
                  try {
                    handlers.onValue(value);
                  } catch (error) {
                    return fail(error);
                  }
                }
                newline = buffer.indexOf('\n');
              }
              if (buffer.length > maxLine) {
                const message = M.eventTooLarge(maxLine);
                fail(kubeRequestError({ kind: 'protocol', message }, path));
              }
            });
            res.on('end', () => resolve());
            res.on('error', error => fail(networkError(error, path)));
            res.on('close', () => {
              if (res.complete) resolve();
              else fail(kubeRequestError(brokeOff(M.streamBrokeOff()), path));
            });
          }),
        {
          ms: handlers.maxDurationMs,
          signal: handlers.signal,
          onTimeout: () => kubeRequestError({ kind: 'timeout', ms: handlers.maxDurationMs }, path),
        },
      );
    } catch (error) {
      // Timed out or aborted (or failed): the stream must not outlive the call.
      req.destroy();
      throw error;
    }
  }

  /** Closes every connection. */
  close(): void {
    this.agent.destroy();
  }

  // --- internals -----------------------------------------------------------------------------

  private async readToken(): Promise<string> {
    const file = this.options.tokenFile;
    let text: string;
    try {
      text = (await readFile(file, 'utf8')).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw kubeRequestError(
        { kind: 'token', file, message: code ?? toError(error).message },
        '(token)',
        error,
      );
    }
    if (!TOKEN.test(text)) {
      throw kubeRequestError(
        { kind: 'token', file, message: text === '' ? M.tokenFileEmpty() : M.notBearerToken() },
        '(token)',
      );
    }
    this.token = text;
    this.tokenReadAt = performance.now();
    return text;
  }

  /** A 200 response to GET `path`, a 401 being retried once with the token re-read. */
  private async open(
    path: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    let token = await this.loadToken();
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const { req, res } = await this.send(path, token, signal, timeoutMs);
      const status = res.statusCode ?? 0;
      if (status === 200) return { req, res };
      const left = Math.max(1, timeoutMs - (performance.now() - started));
      const text = await readText(res, path, MAX_ERROR_BODY, left, timeoutMs, signal).catch(
        () => '',
      );
      if (status === 401 && attempt === 1) {
        token = await this.loadToken(true);
        continue;
      }
      let body: KubeStatus | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (isKubeStatus(parsed)) body = parsed;
      } catch {
        // not a Status: keep the text
      }
      throw kubeRequestError({ kind: 'status', status, body, text: text.slice(0, 500) }, path);
    }
  }

  /** Sends one GET and resolves when the response headers arrive, within `timeoutMs`. */
  private send(
    path: string,
    token: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    return withDeadline(
      live =>
        new Promise<{ req: ClientRequest; res: IncomingMessage }>((resolve, reject) => {
          const req = request({
            host: this.host,
            port: this.port,
            path: `${this.prefix}${path}`,
            method: 'GET',
            agent: this.agent,
            headers: {
              Accept: 'application/json',
              Authorization: `Bearer ${token}`,
              'User-Agent': 'gen-cluster',
            },
          });
          const onAbort = () => req.destroy();
          live.addEventListener('abort', onAbort, { once: true });
          // Errors after the response are reported on the response; this listener keeps a late
          // request error from being unhandled.
          req.on('error', error => reject(networkError(error, path)));
          req.on('response', res => {
            live.removeEventListener('abort', onAbort);
            if (live.aborted) res.destroy();
            else resolve({ req, res });
          });
          req.end();
        }),
      {
        ms: timeoutMs,
        signal,
        onTimeout: () => kubeRequestError({ kind: 'timeout', ms: timeoutMs }, path),
      },
    );
  }
}

/** Reads a response body as text, within `maxBytes` and `timeoutMs`. */
function readText(
  res: IncomingMessage,
  path: string,
  maxBytes: number,
  timeoutMs: number,
  requestTimeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  return readBody(res, { maxBytes, timeoutMs }, signal, {
    tooLarge: max => kubeRequestError({ kind: 'protocol', message: M.answerTooLarge(max) }, path),
    brokeOff: () => kubeRequestError(brokeOff(M.answerBrokeOff()), path),
    network: error => networkError(error, path),
    timeout: () => kubeRequestError({ kind: 'timeout', ms: requestTimeoutMs }, path),
  });
}

function networkError(error: unknown, path: string): KubeRequestError {
  if (error instanceof KubeRequestError) return error;
  return kubeRequestError(networkFailure(error), path, error);
}
