import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { GenClusterError } from '../../core/index.js';
import { KubeApiClient } from './api-client.js';
import { type KubeFailure, KubeRequestError, kubeRequestError } from './kubernetes.errors.js';
import { KubernetesMessages } from './kubernetes.messages.js';

let dir: string;
let tokenFile: string;
let server: Server;
let port: number;
/** Connections the silent server holds, and whether each was closed by the client. */
const sockets: { socket: Socket; closed: boolean }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gen-cluster-kube-client-spec-'));
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'a-token\n');
  // Accepts connections and never says a word: not even the TLS handshake completes.
  server = createServer(socket => {
    const entry = { socket, closed: false };
    sockets.push(entry);
    socket.on('close', () => (entry.closed = true));
    socket.on('error', () => undefined);
    socket.resume(); // reads (and drops) the client's bytes, so that its hang-up is seen
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const { socket } of sockets) socket.destroy();
  await new Promise(resolve => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const client = (over: { port?: number; requestTimeoutMs?: number; tokenFile?: string } = {}) =>
  new KubeApiClient({
    apiServer: new URL(`https://127.0.0.1:${over.port ?? port}`),
    ca: rootCertificates[0]!,
    tokenFile: over.tokenFile ?? tokenFile,
    tokenReloadIntervalMs: 60_000,
    requestTimeoutMs: over.requestTimeoutMs ?? 5_000,
  });

async function failure(work: Promise<unknown>): Promise<KubeRequestError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KubeRequestError);
  return error as KubeRequestError;
}

describe('KubeRequestError', () => {
  it.each<[KubeFailure, string]>([
    [{ kind: 'status', status: 500, body: undefined, text: '' }, 'ERR_KUBE_STATUS'],
    [{ kind: 'timeout', ms: 300 }, 'ERR_KUBE_TIMEOUT'],
    [{ kind: 'network', code: 'ECONNRESET', message: 'reset', tls: false }, 'ERR_KUBE_NETWORK'],
    [{ kind: 'token', file: '/token', message: 'ENOENT' }, 'ERR_KUBE_TOKEN'],
    [{ kind: 'protocol', message: 'not JSON' }, 'ERR_KUBE_PROTOCOL'],
  ])('is a GenClusterError whose code follows the failure (%j)', (kind, code) => {
    const cause = new Error('underneath');
    const error = kubeRequestError(kind, '/apis/x', cause);
    expect(error).toBeInstanceOf(GenClusterError);
    expect(error).toMatchObject({ name: 'KubeRequestError', code, failure: kind, path: '/apis/x' });
    expect(error.cause).toBe(cause);
    expect(error.message).toBe(KubernetesMessages.requestFailed(kind, '/apis/x'));
  });
});

describe('KubeApiClient', () => {
  it('fails with ERR_KUBE_TOKEN, naming the file, when the token cannot be read', async () => {
    const missing = join(dir, 'missing-token');
    const error = await failure(client({ tokenFile: missing }).loadToken());
    expect(error.code).toBe('ERR_KUBE_TOKEN');
    expect(error.failure).toEqual({ kind: 'token', file: missing, message: 'ENOENT' });
  });

  it('fails with ERR_KUBE_NETWORK when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise(resolve => closed.close(resolve));
    const c = client({ port: closedPort });
    const error = await failure(c.getJson('/apis'));
    c.close();
    expect(error.code).toBe('ERR_KUBE_NETWORK');
    expect(error.failure).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
  });

  it('gives up on a server that does not answer within requestTimeoutMs, and hangs up', async () => {
    const before = sockets.length;
    const c = client({ requestTimeoutMs: 200 });
    const started = performance.now();
    const error = await failure(c.getJson('/apis'));
    c.close();
    expect(error.code).toBe('ERR_KUBE_TIMEOUT');
    expect(error.failure).toEqual({ kind: 'timeout', ms: 200 });
    expect(performance.now() - started).toBeLessThan(2_000);
    const held = sockets.slice(before);
    expect(held.length).toBeGreaterThan(0);
    await waitFor(() => held.every(s => s.closed));
  });

  it('rejects with the abort reason at once, and hangs up', async () => {
    const before = sockets.length;
    const c = client();
    const controller = new AbortController();
    const asked = c.getJson('/apis', controller.signal).catch((e: unknown) => e);
    await waitFor(() => sockets.length > before);
    const reason = new Error('stopping');
    controller.abort(reason);
    expect(await asked).toBe(reason);
    c.close();
    await waitFor(() => sockets.slice(before).every(s => s.closed));
  });

  it('does not ask when the signal is already aborted', async () => {
    const before = sockets.length;
    const reason = new Error('stopped before');
    const c = client();
    await expect(c.getJson('/apis', AbortSignal.abort(reason))).rejects.toBe(reason);
    c.close();
    expect(sockets.length).toBe(before);
  });
});

async function waitFor(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
