import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  exports: Record<string, unknown>;
  files: string[];
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dependencies: Record<string, string>;
  engines: { node: string };
};

/**
 * The manifest of the published package. What `npm pack` makes of it, installed and used by a new
 * Nest application, is checked in test/soak/consumer-app.soak-spec.ts.
 */
describe('the published package', () => {
  it('peer-depends on Nest, rxjs and reflect-metadata instead of bundling them', () => {
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual([
      '@nats-io/transport-node',
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/microservices',
      '@nestjs/terminus',
      '@opentelemetry/api',
      'prom-client',
      'reflect-metadata',
      'rxjs',
    ]);
    // Each needed only by its own entry: ./nats, ./microservices, ./terminus, ./otel, ./metrics.
    expect(manifest.peerDependenciesMeta).toEqual({
      '@nats-io/transport-node': { optional: true },
      '@nestjs/microservices': { optional: true },
      '@nestjs/terminus': { optional: true },
      '@opentelemetry/api': { optional: true },
      'prom-client': { optional: true },
    });
    for (const name of Object.keys(manifest.dependencies)) expect(name).not.toMatch(/^@nestjs\//);
  });

  it('declares its entry points, its files and the Node floor of Nest 12', () => {
    expect(manifest.exports['./package.json']).toBe('./package.json');
    expect(manifest.files).toContain('dist/src');
    expect(manifest.files.some(f => f.startsWith('test') || f.startsWith('sample'))).toBe(false);
    expect(manifest.engines.node).toBe('>=20.19.0');
    expect(existsSync(join(root, manifest.main))).toBe(true);
    expect(existsSync(join(root, manifest.types))).toBe(true);
  });
});

/** Every package a declaration file and the declarations it imports (relatively) name. */
function packagesNamedBy(entry: string): Map<string, string> {
  const named = new Map<string, string>(); // package -> the first file naming it
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, specifier] of text.matchAll(
      /(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g,
    )) {
      if (specifier!.startsWith('.')) {
        const target = join(dirname(file), specifier!.replace(/\.js$/, '.d.ts'));
        pending.push(existsSync(target) ? target : join(dirname(file), specifier!, 'index.d.ts'));
      } else if (!named.has(specifier!)) named.set(specifier!, file);
    }
  }
  return named;
}

describe('the built declarations and bin', () => {
  it('main entry: its declarations name none of the optional monitoring packages', () => {
    const named = packagesNamedBy(join(root, manifest.types));
    expect(named.size).toBeGreaterThan(0);
    const optional = [...named.keys()].filter(name =>
      /^(@nestjs\/terminus|prom-client|@opentelemetry\/)/.test(name),
    );
    expect(optional.map(name => `${name} (in ${named.get(name)})`)).toEqual([]);
    // the check sees packages at all: the entry names Nest and rxjs
    expect([...named.keys()]).toEqual(expect.arrayContaining(['@nestjs/common', 'rxjs']));
  });

  it('main entry and ./nats: their declarations never name @nats-io (apps without it compile)', () => {
    for (const types of [manifest.types, 'dist/src/nats/index.d.ts']) {
      const named = packagesNamedBy(join(root, types));
      const nats = [...named.keys()].filter(name => name.startsWith('@nats-io/'));
      expect(nats.map(name => `${name} (in ${named.get(name)})`)).toEqual([]);
    }
  });

  it('./terminus, ./metrics and ./otel each name their own optional package only', () => {
    const entry = (path: string) =>
      [...packagesNamedBy(join(root, 'dist/src', path, 'index.d.ts')).keys()].filter(name =>
        /^(@nestjs\/terminus|prom-client|@opentelemetry\/)/.test(name),
      );
    expect(entry('terminus')).toEqual(['@nestjs/terminus']);
    expect(entry('metrics').every(name => name === 'prom-client')).toBe(true);
    expect(entry('otel').every(name => name.startsWith('@opentelemetry/'))).toBe(true);
  });

  it('ships the gen-cluster bin, a Node script with a shebang', () => {
    const bin = (manifest as unknown as { bin: Record<string, string> }).bin;
    expect(Object.keys(bin)).toEqual(['gen-cluster']);
    const file = join(root, bin['gen-cluster']!);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
  });
});

const run = promisify(execFile);

/** Imports `specifier` in a plain Node process in `cwd`; the names it exports, or the error. */
async function importIn(cwd: string, specifier: string): Promise<string> {
  const script = `import(${JSON.stringify(specifier)}).then(m => console.log(Object.keys(m).sort().join(',')), e => console.log('ERROR ' + e.code + ' ' + e.message))`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
  });
  return stdout.trim();
}

/**
 * The files `npm pack` would publish (the current build: `npm run build` first), installed with
 * the package's dependencies and required peers but without the optional `@nestjs/microservices`
 * and `@nats-io/transport-node`.
 */
describe('the packed files in an app without @nestjs/microservices', () => {
  let app = '';

  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
    });
    const [packed] = JSON.parse(stdout) as [{ files: { path: string }[] }];
    app = mkdtempSync(join(tmpdir(), 'gen-cluster-no-ms-'));
    const target = join(app, 'node_modules', '@gen-cluster', 'nestjs');
    for (const { path } of packed.files) {
      mkdirSync(dirname(join(target, path)), { recursive: true });
      cpSync(join(root, path), join(target, path));
    }
    const needed = [
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies).filter(
        n => n !== '@nestjs/microservices' && n !== '@nats-io/transport-node',
      ),
    ];
    for (const name of needed) {
      mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name), 'dir');
    }
  }, 60_000);

  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('loads the main entry, and fails ./microservices only for want of @nestjs/microservices', async () => {
    const main = await importIn(app, '@gen-cluster/nestjs');
    expect(main.split(',')).toEqual(expect.arrayContaining(['ClusterService', 'GenClusterModule']));
    expect(main).not.toMatch(/GenClusterTransport|GenClusterClientProxy/);
    expect(await importIn(app, '@gen-cluster/nestjs/microservices')).toMatch(
      /^ERROR ERR_MODULE_NOT_FOUND .*'@nestjs\/microservices'/,
    );

    symlinkSync(
      join(root, 'node_modules', '@nestjs', 'microservices'),
      join(app, 'node_modules', '@nestjs', 'microservices'),
      'dir',
    );
    expect((await importIn(app, '@gen-cluster/nestjs/microservices')).split(',')).toEqual(
      expect.arrayContaining([
        'GenClusterTransport',
        'GenClusterClientProxy',
        'createGenClusterTransport',
      ]),
    );
  }, 60_000);

  it('without @nats-io: loads the main entry and ./nats; a NATS dist fails at init naming the package', async () => {
    const nats = (await importIn(app, '@gen-cluster/nestjs/nats')).split(',');
    expect(nats).toEqual(
      expect.arrayContaining(['NatsDist', 'NatsDiscovery', 'NATS_DIST_DEFAULTS']),
    );
    const main = (await importIn(app, '@gen-cluster/nestjs')).split(',');
    expect(main).toEqual(expect.arrayContaining(['createCluster', 'GenClusterModule']));
    expect(main).not.toContain('NatsDist');
    // built from the main entry's options (GEN_CLUSTER_DIST alone), and from ./nats directly
    const script = `
const { createCluster } = await import('@gen-cluster/nestjs');
const { NatsDist } = await import('@gen-cluster/nestjs/nats');
const outcome = e => [e.code, e.packageName, e.message].join(' | ');
const cluster = createCluster({ env: { GEN_CLUSTER_DIST: 'nats://127.0.0.1:1', GEN_CLUSTER_COOKIE: 'c'.repeat(32) } });
const started = await cluster.start().then(() => 'started', outcome);
const dist = new NatsDist({ servers: 'nats://127.0.0.1:1', cookie: 'c'.repeat(32) });
const context = { self: 'a@127.0.0.1', logger: { log() {}, warn() {}, error() {} }, nodeUp() {}, nodeDown() {}, reportConnectivity() {} };
const init = await Promise.resolve(dist.init(context)).then(() => 'started', outcome);
console.log(JSON.stringify({ started, init }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '' },
    });
    const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, string>;
    const missing =
      /^ERR_OPTIONAL_PACKAGE_MISSING \| @nats-io\/transport-node \| .*npm install @nats-io\/transport-node/;
    expect(outcome).toEqual({
      started: expect.stringMatching(missing),
      init: expect.stringMatching(missing),
    });
  }, 60_000);

  it('resolves ./etcd to the etcd discovery class, which the main entry does not export', async () => {
    const etcd = (await importIn(app, '@gen-cluster/nestjs/etcd')).split(',');
    expect(etcd).toEqual(expect.arrayContaining(['EtcdDiscovery', 'EtcdRequestError']));
    const main = (await importIn(app, '@gen-cluster/nestjs')).split(',');
    expect(main).not.toContain('EtcdDiscovery');
    expect(main).toEqual(expect.arrayContaining(['createCluster', 'AggregateDiscovery']));
  }, 60_000);
});
