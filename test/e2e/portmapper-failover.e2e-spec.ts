/**
 * The registration through the port mapper's troubles: the process holding the mapper is killed
 * (the survivors restore the registry), and a mapper that accepts connections but never answers
 * (a TCP dist starts unregistered and registers once it is gone).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { PortMapperClient, PortMapperRegistration } from '../../src/portmapper/index.js';
import { startInProcess, stopInProcess } from '../support/in-process.js';
import { PortMapperFixtures, namesOf } from '../support/port-mapper-harness.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const fx = new PortMapperFixtures();
afterEach(() => fx.release());

describe('the TCP dist with a port mapper that does not answer', () => {
  afterEach(stopInProcess);

  it('starts unregistered when the mapper accepts connections but never answers (a stopped process), and registers once it is gone', async () => {
    const held: Socket[] = [];
    const stopped = createServer(socket => {
      held.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>(resolve => stopped.listen(0, '127.0.0.1', resolve));
    const portMapperPort = (stopped.address() as { port: number }).port;
    const started = performance.now();
    const node = await startInProcess('pm-late', [], { portMapper: true, portMapperPort });
    expect(performance.now() - started).toBeLessThan(4_500);
    expect(
      node.logs.some(
        l => l.startsWith('warn') && /Starting without the port mapper registration/.test(l),
      ),
    ).toBe(true);
    // the stuck mapper's process goes away: the node takes its place and registers
    for (const socket of held) socket.destroy();
    await new Promise(resolve => stopped.close(resolve));
    await until(
      async () =>
        (await namesOf(portMapperPort).catch((): string[] => [])).includes(`pm-late:${node.port}`),
      10_000,
      'the registration in the background',
    );
  });

  it('still fails at startup on a name a live node on this host holds', async () => {
    const server = await fx.mapper();
    fx.handles.push(
      await new PortMapperClient({ port: server.port }).register('pm-dup', await fx.distPort()),
    );
    await expect(
      startInProcess('pm-dup', [], { portMapper: true, portMapperPort: server.port }),
    ).rejects.toMatchObject({ code: 'ERR_DUPLICATE_NODE_NAME' });
  });

  it('startOrRetry() resolves false at once on a timeout, then registers in the background', async () => {
    const held: Socket[] = [];
    const stopped = createServer(socket => {
      held.push(socket);
      socket.on('error', () => undefined);
    });
    fx.listeners.push(stopped);
    await new Promise<void>(resolve => stopped.listen(0, '127.0.0.1', resolve));
    const portMapperPort = (stopped.address() as { port: number }).port;
    const registration = new PortMapperRegistration({
      name: 'pm-retry',
      port: await fx.distPort(),
      portMapperPort,
      startTimeoutMs: 30_000,
      retryMaxDelayMs: 100,
    });
    fx.registrations.push(registration);
    const started = performance.now();
    await expect(registration.startOrRetry()).resolves.toBe(false);
    expect(performance.now() - started).toBeLessThan(10_000); // one request timeout, not 30 s
    expect(registration.registered).toBe(false);
    for (const socket of held) socket.destroy();
    fx.listeners.splice(fx.listeners.indexOf(stopped), 1);
    await new Promise(resolve => stopped.close(resolve));
    await until(() => registration.registered, 10_000, 'the registration in the background');
    expect(registration.serving).toBe(true);
  });
});

// --- failover across processes -------------------------------------------------------------------

describe('port mapper failover across processes', () => {
  let bundle: string;

  beforeAll(() => {
    bundle = buildChildBundle();
  });
  afterAll(() => rmSync(bundle, { recursive: true, force: true }));

  /** A node process: a dist listener on an ephemeral port, registered through the orchestration. */
  function node(name: string, portMapperPort: number) {
    const child = spawn(
      process.execPath,
      [join(bundle, 'child.mjs'), name, String(portMapperPort)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    fx.children.push(child);
    const events: { type: string; serving?: boolean; port?: number; code?: string }[] = [];
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const line of lines) if (line) events.push(JSON.parse(line) as (typeof events)[number]);
    });
    const stderr: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
    return { child, events, stderr, exited, name };
  }

  const started = (n: ReturnType<typeof node>) =>
    until(
      () => n.events.some(e => e.type === 'started'),
      10_000,
      `${n.name} to start (${n.stderr.join('')})`,
    );

  it('the survivors restore the registry within about a second after SIGKILL of the mapper holder', async () => {
    const portMapperPort = await freePort();
    const holder = node('holder', portMapperPort);
    await started(holder);
    expect(holder.events.find(e => e.type === 'started')?.serving).toBe(true);

    const others = [node('child-1', portMapperPort), node('child-2', portMapperPort)];
    await Promise.all(others.map(started));
    const local = [1, 2].map(
      i => new PortMapperRegistration({ name: `local-${i}`, port: 40_000 + i, portMapperPort }),
    );
    fx.registrations.push(...local);
    for (const r of local) await r.start();
    expect(local.some(r => r.serving)).toBe(false);
    expect(await namesOf(portMapperPort)).toHaveLength(5);

    const killedAt = performance.now();
    holder.child.kill('SIGKILL');
    const expected = [
      ...others.map(o => `${o.name}:${o.events.find(e => e.type === 'started')!.port}`),
      'local-1:40001',
      'local-2:40002',
    ].sort();
    await until(
      async () =>
        JSON.stringify(await namesOf(portMapperPort).catch(() => [])) === JSON.stringify(expected),
      5_000,
      'the survivors to be registered again',
    );
    const took = performance.now() - killedAt;
    expect(took).toBeLessThan(1_500);
    // Exactly one survivor serves the mapper now.
    const servingChildren = others.filter(o => o.events.some(e => e.type === 'serving')).length;
    expect(servingChildren + local.filter(r => r.serving).length).toBe(1);

    // A node started afterwards still joins.
    const late = node('late', portMapperPort);
    await started(late);
    expect(late.events.find(e => e.type === 'started')?.serving).toBe(false);
    expect(await namesOf(portMapperPort)).toContain(
      `late:${late.events.find(e => e.type === 'started')!.port}`,
    );
  }, 30_000);

  it('a node holding the mapper exits on its own after close(), leaving no process behind', async () => {
    const portMapperPort = await freePort();
    const holder = node('graceful', portMapperPort);
    await started(holder);
    const survivor = new PortMapperRegistration({ name: 'survivor', port: 40_001, portMapperPort });
    fx.registrations.push(survivor);
    await survivor.start();
    holder.child.kill('SIGTERM'); // the child closes its registration and its dist listener
    await expect(holder.exited).resolves.toBe(0);
    await until(() => survivor.registered && survivor.serving, 3_000, 'the survivor to serve');
    expect(await namesOf(portMapperPort)).toEqual(['survivor:40001']);
  }, 20_000);
});

/**
 * Transpiles the port mapper (and the core it imports) to plain ESM in a temp dir, with a
 * tiny node script, so a child process can run it without a build step.
 */
function buildChildBundle(): string {
  // Inside node_modules/.cache, so that any package the sources import resolves as in the repo.
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'gen-cluster-portmapper-'));
  const files = ['core', 'portmapper'].flatMap(folder =>
    readdirSync(join(root, 'src', folder))
      .filter(f => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
      .map(f => join('src', folder, f)),
  );
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(join(root, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        experimentalDecorators: true,
      },
      fileName: file,
    });
    const out = join(dir, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(dir, 'child.mjs'),
    `import { createServer } from 'node:net';
import { PortMapperRegistration } from './src/portmapper/index.js';
const [name, portMapperPort] = process.argv.slice(2);
const print = event => process.stdout.write(JSON.stringify(event) + '\\n');
const dist = createServer(socket => socket.destroy());
dist.listen(0, '127.0.0.1', async () => {
  const port = dist.address().port;
  const registration = new PortMapperRegistration({ name, port, portMapperPort: Number(portMapperPort) });
  registration.onChange(event => print({ type: event.type, serving: event.serving }));
  process.once('SIGTERM', async () => {
    await registration.close();
    dist.close();
  });
  try {
    await registration.start();
    print({ type: 'started', serving: registration.serving, port });
  } catch (error) {
    print({ type: 'failed', code: error.code });
    process.exit(1);
  }
});
`,
  );
  return dir;
}
