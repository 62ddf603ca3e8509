/**
 * Rolling upgrades (DESIGN.md, "Rules every capability follows"): the previous build runs beside
 * this one. The previous build is commit 844962a, the last one before the cluster namespace (the
 * first capability negotiated in the handshake), extracted from git history and built here.
 * Without that history the suite fails: it never skips.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type {
  CallAnswer,
  GroupAnswer,
  GroupReceipt,
  LeaderAnswer,
  ServersAnswer,
} from '../../sample/app.module.js';
import { PortMapperClient, type RegisteredNode } from '../../src/portmapper/index.js';
import type { SpanRecord, TraceAnswer } from '../fixtures/apps/otel/trace.controller.js';
import { type SampleNode, fixtureAppMain, startNode, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { http } from '../support/sample-http.js';
import { until } from '../support/wait.js';

/** The previous build: the last commit before the namespace work. */
const PREVIOUS = '844962a';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pid = process.pid;
const nodeName = (part: string) => `${part}-${pid}@127.0.0.1`;

/** Runs a command, failing with its output unless it exits with 0. */
function run(command: string, args: string[], cwd: string, what: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0)
    throw new Error(
      `${what} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`,
    );
  return result.stdout;
}

/** Extracts and builds the previous commit in a directory of its own; returns that directory. */
function buildPrevious(): string {
  const found = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${PREVIOUS}^{commit}`], {
    cwd: root,
    encoding: 'utf8',
  });
  if (found.status !== 0)
    throw new Error(
      `The mixed-version test needs commit ${PREVIOUS} (the build before the cluster namespace) in ` +
        `the git history of ${root}, and it is missing (a shallow clone, or no .git). Fetch the ` +
        `history (git fetch --unshallow) and run again; this suite never skips.`,
    );
  const dir = mkdtempSync(join(tmpdir(), `gen-cluster-previous-${pid}-`));
  run('sh', ['-c', `git archive ${PREVIOUS} | tar -x -C "${dir}"`], root, `Extracting ${PREVIOUS}`);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], dir, `Building ${PREVIOUS}`);
  return dir;
}

/** `GET /cluster` as it is, to tell an old answer (no namespace) from a new one. */
async function view(node: SampleNode): Promise<Record<string, unknown>> {
  return (await (await fetch(`http://127.0.0.1:${node.http}/cluster`)).json()) as Record<
    string,
    unknown
  >;
}

async function post(node: SampleNode, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`, { method: 'POST' });
  return (await response.json()) as Record<string, unknown>;
}

async function soakStats(node: SampleNode): Promise<{ answered: number; failed: number }> {
  return (await (await fetch(`http://127.0.0.1:${node.http}/soak`)).json()) as {
    answered: number;
    failed: number;
  };
}

describe(`mixed versions: the previous build (${PREVIOUS}) beside this one`, () => {
  let previous = '';
  let mapperPort = 0;
  const canaries: RegisteredNode[] = [];

  const env = (part: string, namespace?: string): Record<string, string> => ({
    GEN_CLUSTER_NODE: nodeName(part),
    GEN_CLUSTER_DISCOVERY: 'local',
    GEN_CLUSTER_PORTMAPPER_PORT: String(mapperPort),
    GEN_CLUSTER_REFRESH_INTERVAL_MS: '500',
    ...(namespace === undefined ? {} : { GEN_CLUSTER_NAMESPACE: namespace }),
  });
  const oldSample = (part: string) =>
    startNode(env(part), 30_000, join(previous, 'dist', 'sample', 'main.js'));
  const newSample = (part: string, namespace?: string) => startNode(env(part, namespace));
  const sees = async (node: SampleNode, other: string) =>
    (await node.members())?.includes(other) === true;

  beforeAll(() => {
    previous = buildPrevious();
    expect(existsSync(join(previous, 'dist', 'sample', 'main.js'))).toBe(true);
  }, 240_000);
  afterAll(() => {
    if (previous) rmSync(previous, { recursive: true, force: true });
  });
  beforeEach(async () => {
    mapperPort = await freePort();
  });
  afterEach(async () => {
    await stopAll();
    await Promise.all(canaries.splice(0).map(c => c.close()));
  });

  it('an old and a new sample node form one cluster in the default namespace', async () => {
    // The old node starts first, so it serves the port mapper the new one registers with.
    const old = await oldSample('old');
    const neu = await newSample('new');
    await until(
      async () => (await sees(old, nodeName('new'))) && (await sees(neu, nodeName('old'))),
      20_000,
      'the old and the new node to see each other',
    );
    // Each really is its version: only the new sample tells its namespace.
    expect(await view(old)).toEqual({ self: nodeName('old'), members: [nodeName('new')] });
    expect(await view(neu)).toEqual({
      self: nodeName('new'),
      members: [nodeName('old')],
      namespace: 'default',
    });
    // The old mapper keeps the new node's namespace; the old node's registration has none.
    const registered = await new PortMapperClient({ port: mapperPort }).nodes('127.0.0.1');
    expect(registered.map(n => `${n.name}:${n.namespace}`).sort()).toEqual([
      `new-${pid}:default`,
      `old-${pid}:default`,
    ]);
    expect((await neu.changes()).map(c => `${c.type} ${c.node}`)).toEqual([
      `nodeUp ${nodeName('old')}`,
    ]);
  });

  it('an old and a new node exchange requests both ways', async () => {
    // The soak node of each build: the same environment as the sample, plus an `echo` handler
    // and a stream of `echo` requests to every peer once started.
    const fixture = (dir: string) => join(dir, 'test', 'fixtures', 'soak-node.mjs');
    const old = await startNode(env('old-soak'), 30_000, fixture(previous));
    const neu = await startNode(env('new-soak'), 30_000, fixture(root));
    await until(
      async () =>
        (await sees(old, nodeName('new-soak'))) && (await sees(neu, nodeName('old-soak'))),
      20_000,
      'the old and the new node to link',
    );
    await post(old, '/soak/start');
    await post(neu, '/soak/start');
    await until(
      async () => (await soakStats(old)).answered >= 50 && (await soakStats(neu)).answered >= 50,
      20_000,
      'fifty answered requests each way',
    );
    for (const node of [old, neu]) {
      const stats = await post(node, '/soak/stop');
      expect(stats).toMatchObject({ failed: 0, wrongAnswers: 0 });
      expect(stats.answered).toBeGreaterThanOrEqual(50);
    }
  });

  it('a remote NotFoundException keeps its name and message for an old node, and an old node gives a plain RemoteError', async () => {
    // The same fixture in both builds: `prices.get` throws NotFoundException through on().
    const fixture = join(root, 'test', 'fixtures', 'previous-messaging-node.mjs');
    const old = await startNode(
      { ...env('old-prices'), GEN_CLUSTER_LIBRARY_ROOT: previous },
      30_000,
      fixture,
    );
    const neu = await startNode(env('new-prices'), 30_000, fixture);
    await until(
      async () =>
        (await sees(old, nodeName('new-prices'))) && (await sees(neu, nodeName('old-prices'))),
      20_000,
      'the old and the new node to link',
    );
    const ask = async (from: SampleNode, node: string) =>
      (await (
        await fetch(
          `http://127.0.0.1:${from.http}/ask?node=${encodeURIComponent(node)}&topic=prices.get`,
        )
      ).json()) as { ok: boolean; error: Record<string, unknown> };
    const message = 'Price "missing" not found';
    // The new node sends status and response: asked by itself, it rebuilds the 404.
    expect((await ask(neu, nodeName('new-prices'))).error).toMatchObject({
      class: 'RemoteHttpException',
      code: 'ERR_REMOTE_HANDLER',
      remoteName: 'NotFoundException',
      remoteMessage: message,
      httpStatus: 404,
      httpResponse: { statusCode: 404, message, error: 'Not Found' },
    });
    // The old node ignores the new fields: the RemoteError it always made, name and message kept.
    const oldAsksNew = await ask(old, nodeName('new-prices'));
    expect(oldAsksNew.ok).toBe(false);
    expect(oldAsksNew.error).toMatchObject({
      class: 'RemoteError',
      code: 'ERR_REMOTE_HANDLER',
      node: nodeName('new-prices'),
      topic: 'prices.get',
      remoteName: 'NotFoundException',
      remoteMessage: message,
      hasStatus: false,
    });
    expect(oldAsksNew.error.message).toContain(message);
    // The old node sends no status: the new node makes a plain RemoteError of its answer.
    const newAsksOld = await ask(neu, nodeName('old-prices'));
    expect(newAsksOld.ok).toBe(false);
    expect(newAsksOld.error).toMatchObject({
      class: 'RemoteError',
      code: 'ERR_REMOTE_HANDLER',
      node: nodeName('old-prices'),
      topic: 'prices.get',
      remoteName: 'NotFoundException',
      remoteMessage: message,
      hasStatus: true,
    });
    expect(newAsksOld.error.status).toBeUndefined();
    expect(newAsksOld.error.response).toBeUndefined();
    expect(newAsksOld.error).not.toHaveProperty('httpStatus');
  });

  it('a new node never counts an old one (no service registry) as a server, and the old one logs nothing of the registry', async () => {
    // Both serve prices.get: the old node through on() (it throws NotFoundException), the new one
    // as a sample topic (SAMPLE_SERVES). The old build has no registry: the new node's hello gets
    // ERR_NO_HANDLER, so it sees no topic on the old node and sends it no registry message.
    const old = await startNode(
      { ...env('old-services'), GEN_CLUSTER_LIBRARY_ROOT: previous },
      30_000,
      join(root, 'test', 'fixtures', 'previous-messaging-node.mjs'),
    );
    const neu = await startNode(
      { ...env('new-services'), SAMPLE_SERVES: 'prices.get' },
      { main: fixtureAppMain('services'), timeoutMs: 30_000 },
    );
    const OLD = nodeName('old-services');
    const NEW = nodeName('new-services');
    await until(
      async () => (await sees(old, NEW)) && (await sees(neu, OLD)),
      20_000,
      'the old and the new node to link',
    );
    const serversOf = async (topic: string) =>
      (await http<ServersAnswer>(neu, 'GET', `/cluster/servers/${topic}`)).body.servers;
    expect(await serversOf('prices.get')).toEqual([NEW]);
    // Round-robin over the servers: every call is the new node's (the old one would answer 404).
    for (let i = 0; i < 20; i++)
      expect(await http<CallAnswer>(neu, 'GET', '/cluster/call/prices.get')).toEqual({
        status: 200,
        body: { servedBy: NEW, value: {} },
      });

    // ownerOf without a topic ranks every member, the old node included.
    const { owner } = (await import(
      pathToFileURL(join(root, 'dist', 'src', 'primitives', 'calls', 'rendezvous.js')).href
    )) as { owner: (key: string, nodes: readonly string[]) => string };
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const { owners } = (
      await http<{ owners: Record<string, string> }>(
        neu,
        'GET',
        `/probe/owners?keys=${keys.join(',')}`,
      )
    ).body;
    expect(keys.map(key => owners[key])).toEqual(keys.map(key => owner(key, [NEW, OLD])));
    expect(Object.values(owners)).toContain(OLD);

    // A local change would be announced to every peer running the registry; the withdrawal of
    // prices.get is not sent to the old node. Then a one-way message the old node cannot handle:
    // it logs that one (so its log is read), and, the link being ordered, nothing before it.
    expect((await http(neu, 'POST', '/probe/withdraw/prices.get')).status).toBe(201);
    expect(await serversOf('prices.get')).toEqual([]);
    const refused = await http<{ code: string }>(neu, 'GET', '/cluster/call/prices.get');
    expect(refused).toMatchObject({ status: 503, body: { code: 'ERR_NO_SERVER' } });
    await http(neu, 'POST', '/probe/send', { node: OLD, topic: 'no.such.topic' });
    await until(
      () => old.output.some(line => line.includes('"no.such.topic"')),
      10_000,
      'the old node to log the message it has no handler for',
    );
    expect(old.output.filter(line => line.includes('$gc.'))).toEqual([]);
    expect(neu.output.filter(line => /WARN|ERROR/.test(line))).toEqual([]);
    // The link stayed up all along.
    expect(await old.members()).toEqual([NEW]);
    expect((await neu.changes()).map(c => `${c.type} ${c.node}`)).toEqual([`nodeUp ${OLD}`]);
  });

  it('a new node tracing with a registered provider and an old node request each other; the old one never sees a header', async () => {
    // The new node is the otel fixture (tracing: true, a NodeTracerProvider registered); the old
    // one the previous build's messaging node. The link has no `headers` capability: the new node
    // sends the old envelope kinds, and the trace restarts on each side of the hop.
    const old = await startNode(
      { ...env('old-traced'), GEN_CLUSTER_LIBRARY_ROOT: previous },
      30_000,
      join(root, 'test', 'fixtures', 'previous-messaging-node.mjs'),
    );
    const neu = await startNode(env('new-traced'), {
      main: fixtureAppMain('otel'),
      timeoutMs: 30_000,
    });
    const OLD = nodeName('old-traced');
    const NEW = nodeName('new-traced');
    await until(
      async () => (await sees(old, NEW)) && (await sees(neu, OLD)),
      20_000,
      'the old and the new node to link',
    );
    // New asks old: the old handler ran (its NotFoundException came back), under a client span.
    const asked = await http<TraceAnswer>(
      neu,
      'GET',
      `/trace/request/${encodeURIComponent(OLD)}?topic=prices.get`,
    );
    expect(asked.body.error).toContain('not found');
    // Old asks new: answered by the new node's traced handler.
    const answer = (await (
      await fetch(
        `http://127.0.0.1:${old.http}/ask?node=${encodeURIComponent(NEW)}&topic=trace.greet`,
      )
    ).json()) as { ok: boolean; value: { servedBy: string } };
    expect(answer).toMatchObject({ ok: true, value: { servedBy: NEW } });
    // A one-way message the old node has no handler for: it logs that one, and (the link being
    // ordered) it has read everything the new node sent before it.
    await http(neu, 'GET', `/trace/send/${encodeURIComponent(OLD)}?id=old`);
    await until(
      () => old.output.some(line => line.includes('"trace.note"')),
      10_000,
      'the old node to log the message it has no handler for',
    );
    expect(old.output.filter(line => /envelope/i.test(line))).toEqual([]);
    expect(old.output.filter(l => /WARN|ERROR/.test(l) && !l.includes('"trace.note"'))).toEqual([]);

    const spansOfNew = async () => (await http<SpanRecord[]>(neu, 'GET', '/trace/spans')).body;
    const servedOld = (spans: SpanRecord[]) =>
      spans.find(s => s.name === 'trace.greet process' && s.attributes['gen_cluster.peer'] === OLD);
    await until(async () => servedOld(await spansOfNew()) !== undefined, 5_000, 'the server span');
    const spans = await spansOfNew();
    expect(spans.find(s => s.name === 'prices.get request')).toMatchObject({
      traceId: asked.body.traceId,
      parentSpanId: asked.body.rootSpanId,
      attributes: { 'gen_cluster.peer': OLD, 'gen_cluster.outcome': 'remoteError' },
    });
    expect(spans.find(s => s.name === 'trace.note send')).toMatchObject({
      attributes: { 'gen_cluster.peer': OLD, 'gen_cluster.outcome': 'sent' },
    });
    // The old node carried no context: the new node's server span is a root.
    expect(servedOld(spans)!.parentSpanId).toBeUndefined();
    expect(neu.output.filter(line => /WARN|ERROR/.test(line))).toEqual([]);
  });

  it('the new nodes agree on a leader among themselves (the old node announces no start time), and groups work among them', async () => {
    // The old node starts first: the oldest process, and the one serving the port mapper. It
    // announces no start time in the handshake, so no new node counts it as a candidate.
    const old = await oldSample('old-lead');
    const first = await newSample('new-lead-1');
    const second = await newSample('new-lead-2');
    const [OLD, N1, N2] = ['old-lead', 'new-lead-1', 'new-lead-2'].map(nodeName) as [
      string,
      string,
      string,
    ];
    const everyone = [
      [old, [N1, N2]],
      [first, [OLD, N2]],
      [second, [OLD, N1]],
    ] as const;
    await until(
      async () =>
        (
          await Promise.all(
            everyone.map(async ([node, others]) => {
              const members = await node.members();
              return others.every(other => members?.includes(other));
            }),
          )
        ).every(Boolean),
      20_000,
      'the three nodes to see each other',
    );
    const leaders = async () =>
      Promise.all(
        [first, second].map(
          async node => (await http<LeaderAnswer>(node, 'GET', '/cluster/leader')).body,
        ),
      );
    await until(
      async () => (await leaders()).every(answer => answer.leader === N1),
      20_000,
      'both new nodes to name the older new node leader',
      100,
    );
    // It stays so (an observation window): the old node never leads.
    const end = performance.now() + 1_500;
    while (performance.now() < end) {
      for (const answer of await leaders()) expect(answer.leader).toBe(N1);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    // The old sample has no leader route at all.
    expect((await http(old, 'GET', '/cluster/leader')).status).toBe(404);

    // Groups among the new nodes: the old one is never a member, and is never sent a message.
    for (const node of [first, second])
      expect((await http(node, 'POST', '/cluster/groups/g/join')).status).toBe(201);
    const groupOf = async (node: SampleNode) =>
      (await http<GroupAnswer>(node, 'GET', '/cluster/groups/g')).body.members;
    await until(
      async () =>
        (await Promise.all([first, second].map(groupOf))).every(
          members => JSON.stringify(members) === JSON.stringify([N1, N2].sort()),
        ),
      10_000,
      'both new nodes to see both in g',
    );
    const published = await http<{ sentTo: string[]; failed: unknown[] }>(
      second,
      'POST',
      '/cluster/groups/g/publish',
      { marker: 'mixed-1' },
    );
    expect(published).toEqual({ status: 201, body: { sentTo: [N1, N2].sort(), failed: [] } });
    const received = async (node: SampleNode) =>
      (await http<GroupReceipt[]>(node, 'GET', '/cluster/groups/g/received')).body.filter(
        receipt => (receipt.body as { marker?: unknown })?.marker === 'mixed-1',
      );
    await until(
      async () => (await Promise.all([first, second].map(received))).every(r => r.length === 1),
      10_000,
      'both new nodes to receive the message once',
    );
    expect(old.output.filter(line => line.includes('$gc.'))).toEqual([]);
    for (const node of [first, second])
      expect(node.output.filter(line => /WARN|ERROR/.test(line))).toEqual([]);
    expect(await old.members()).toEqual([N1, N2].sort());
  });

  it('a new node in namespace "other" refuses the old node, which lists and dials it anyway', async () => {
    // The new node starts first and serves the mapper; the old one registers with it.
    const other = await newSample('other', 'other');
    const old = await oldSample('old');
    // The old node's local discovery ignores namespaces: it dials the new node, which refuses.
    await until(
      () => other.output.some(l => /cluster namespace/.test(l)),
      20_000,
      'the new node to refuse the old one',
    );
    const refusal = other.output.filter(l => /cluster namespace/.test(l));
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toMatch(/WARN/);
    expect(refusal[0]).toMatch(/"default".*"other"/);
    // The old node reports a refusal with a reason it does not know.
    await until(
      () => old.output.some(l => /reason "namespace"/.test(l)),
      10_000,
      'the old node to log the refusal',
    );
    // The new node's own discovery never names the old node (registered without a namespace).
    const client = new PortMapperClient({ port: mapperPort });
    canaries.push(await client.register(`canary-${pid}`, await freePort(), { namespace: 'other' }));
    await until(
      async () => (await other.discovered())?.includes(nodeName('canary')) === true,
      10_000,
      'the new node’s discovery to list its canary',
    );
    expect(await other.discovered()).toEqual([nodeName('canary')]);
    expect(await old.discovered()).toContain(nodeName('other'));
    expect(await other.members()).toEqual([]);
    expect(await old.members()).toEqual([]);
    expect(await other.changes()).toEqual([]);
    expect(await old.changes()).toEqual([]);
  });
});
