import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PackedManifest, appLockfile } from '../support/app-lockfile.js';

/**
 * The package as a user gets it. The working tree's files (what a fresh clone of it holds: no
 * dist/) are copied to a temp dir and packed with `npm pack`, so `prepack` has to build. A new
 * Nest 12 application then installs the tarball and its peers from the npm cache that `npm ci`
 * filled (`--offline`, with a lockfile cut from the repository's: see app-lockfile.ts), compiles
 * with tsc in strict `nodenext` mode with library checks on (`skipLibCheck: false`), and boots
 * with node. The temp dir goes when the suite ends, passed or failed.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = '@gen-cluster/nestjs';
/**
 * What the app installs beside the tarball (and every peer dependency the package declares), at
 * the versions this repository's lockfile holds.
 */
const APP_PACKAGES = [
  '@nestjs/common',
  '@nestjs/core',
  'reflect-metadata',
  'rxjs',
  'typescript',
  '@types/node',
  '@nestjs/config',
];
const STEP_MS = 180_000;

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end; the child gets no GEN_CLUSTER_* settings and no Jest VM flags. */
function run(command: string, args: string[], cwd: string): Promise<Result> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('GEN_CLUSTER_') && key !== 'NODE_OPTIONS',
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', code => resolve({ code, stdout, stderr }));
  });
}

/** Fails with the command's output when it did not exit 0. */
function ok(what: string, result: Result): Result {
  if (result.code !== 0)
    throw new Error(`${what} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Copies the files git tracks or would track (not ignored ones such as dist/ and node_modules). */
async function copyTree(to: string): Promise<void> {
  const listed = ok(
    'git ls-files',
    await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root),
  );
  for (const file of listed.stdout.split('\0')) {
    // A tracked file deleted in the working tree is not in a clone made after the commit.
    if (!file || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
  // Installing the dev dependencies again would only repeat `npm ci`: the copy borrows them.
  symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'), 'dir');
}

/** The files an `exports` map points at (its string leaves; the keys are subpaths). */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportTargets);
  return [];
}

const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    skipLibCheck: false,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    types: ['node'],
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

/**
 * An app written as the README says: the quick start's forRoot() without discovery, a feature
 * module that injects ClusterService (and a named cluster) and registers handlers in its
 * constructor, forRootAsync with ConfigService, and two named clusters that really start
 * (loopback, ephemeral ports, no port mapper, their own cookie).
 */
const APP_MODULE = `import { Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ClusterService, GenClusterModule, InjectCluster } from '${PACKAGE}';

const dist = { strategy: 'tcp', port: 0, portMapper: false, cookie: 'consumer-app-cookie-0123456789' } as const;

@Injectable()
export class Orders implements OnApplicationBootstrap {
  constructor(
    private readonly cluster: ClusterService,
    @InjectCluster('blue') private readonly blue: ClusterService,
    @InjectCluster('green') private readonly green: ClusterService,
  ) {
    cluster.on('orders.count', () => 0);
    blue.on('orders.count', () => 1);
  }

  onApplicationBootstrap(): void {
    const report = (c: ClusterService) => ({ name: c.name, self: c.self, started: c.started, nodes: c.nodes() });
    console.log(\`CONSUMER_APP \${JSON.stringify([this.cluster, this.blue, this.green].map(report))}\`);
  }
}

@Module({ providers: [Orders] })
export class OrdersModule {}

@Module({
  imports: [
    GenClusterModule.forRoot(),
    GenClusterModule.forRootAsync({
      name: 'blue',
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ BLUE_NODE: 'blue@127.0.0.1' })] })],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        node: config.getOrThrow<string>('BLUE_NODE'),
        discovery: { strategy: 'static', nodes: [] },
        dist,
      }),
    }),
    GenClusterModule.forRoot({ name: 'green', node: 'green@127.0.0.1', discovery: 'static:', dist }),
    OrdersModule,
  ],
})
export class AppModule {}
`;

/**
 * The NATS options as an app writes them, compiled (never run): through the main entry's options
 * (`{ strategy: 'nats' }`, the \`nats://\` short form) and the ./nats entry's classes.
 */
const APP_NATS = `import type { ClusterOptions, GenClusterModuleOptions } from '${PACKAGE}';
import { NATS_DIST_DEFAULTS, NatsDiscovery, NatsDist, type NatsDistOptions } from '${PACKAGE}/nats';

export const viaModule: GenClusterModuleOptions = {
  dist: { strategy: 'nats', servers: ['nats://127.0.0.1:4222'], user: 'gc', passwordFile: '/run/secrets/nats' },
};
export const viaCluster: ClusterOptions = { discovery: 'nats://127.0.0.1:4222', dist: { strategy: 'tcp' } };
const options: NatsDistOptions = { servers: 'nats://127.0.0.1:4222', heartbeatIntervalMs: NATS_DIST_DEFAULTS.heartbeatIntervalMs };
export const build = () => ({ dist: new NatsDist(options), discovery: new NatsDiscovery({ servers: 'tls://nats:4222' }) });
`;

const APP_MAIN = `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
await app.init();
await app.close();
`;

/**
 * Boots clusters with the options under test in an app without the optional peers; prints what
 * each boot gave (`ok`, or the error's code, packageName and message).
 */
const BARE_MAIN = `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GenClusterModule } from '${PACKAGE}';

const dist = { strategy: 'tcp', port: 0, portMapper: false, cookie: 'consumer-app-cookie-0123456789' };
async function boot(options) {
  class AppModule {}
  Module({ imports: [GenClusterModule.forRoot({ node: 'bare@127.0.0.1', discovery: 'static:', dist, ...options })] })(AppModule);
  try {
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
    const started = app.get((await import('${PACKAGE}')).ClusterService).started;
    await app.close();
    return started ? 'ok' : 'not started';
  } catch (error) {
    return [error.code, error.packageName, error.message].join(' | ');
  }
}
const entry = (path) => import('${PACKAGE}/' + path).then(() => 'loaded', e => e.code + ' ' + e.message);
console.log('BARE ' + JSON.stringify({
  default: await boot({}),
  auto: await boot({ tracing: 'auto' }),
  tracing: await boot({ tracing: true }),
  metrics: await boot({ metrics: true }),
  terminus: await entry('terminus'),
  natsEntry: await entry('nats'),
  // no discovery: the NATS dist is its own, and its client is missing
  nats: await boot({ discovery: undefined, dist: { strategy: 'nats', servers: 'nats://127.0.0.1:1', cookie: dist.cookie } }),
}));
`;

describe('the packed package in a new Nest 12 application', () => {
  let work = '';
  let app = '';
  let files: string[] = [];
  let manifest: { exports: Record<string, unknown>; peerDependencies: Record<string, string> };
  /** A file importing every entry of the exports map, with its tsconfig (a program of its own). */
  let entriesCheck = '';
  /** Its tsc, started beside the app's (both are mostly CPU spent on library checks). */
  let entriesCompiled: Promise<Result> | undefined;
  const tsc = () => join(app, 'node_modules/typescript/bin/tsc');
  const entriesOf = () =>
    Object.keys(manifest.exports)
      .filter(key => key !== './package.json')
      .map(key => `${PACKAGE}${key.slice(1)}`);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gen-cluster-consumer-'));
    const clone = join(work, 'clone');
    await copyTree(clone);
    ok('npm pack', await run('npm', ['pack', '--pack-destination', work], clone));
    const tarball = readdirSync(work).find(name => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack wrote no tarball in ${work}`);
    files = ok('tar', await run('tar', ['-tzf', join(work, tarball)], work))
      .stdout.split('\n')
      .filter(Boolean)
      .map(path => path.replace(/^package\//, ''));

    app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    const packed = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as PackedManifest;
    const packages = [...new Set([...APP_PACKAGES, ...Object.keys(packed.peerDependencies ?? {})])];
    const { manifest: appManifest, lockfile } = appLockfile(
      root,
      packages,
      join(work, tarball),
      packed,
    );
    writeFileSync(join(app, 'package.json'), JSON.stringify(appManifest, null, 2));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lockfile, null, 2));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG, null, 2));
    writeFileSync(join(app, 'src', 'app.module.ts'), APP_MODULE);
    writeFileSync(join(app, 'src', 'main.ts'), APP_MAIN);
    writeFileSync(join(app, 'src', 'nats-options.ts'), APP_NATS);
    const flags = ['--no-audit', '--no-fund'];
    const offline = await run('npm', ['install', '--offline', ...flags], app);
    if (offline.code !== 0) {
      // Only a package missing from the cache may send npm to the registry, and it is said.
      if (!/ENOTCACHED/.test(offline.stderr)) ok('npm install --offline', offline);
      console.warn(`npm install --offline missed the cache; retrying with --prefer-offline:
${offline.stderr}`);
      ok(
        'npm install --prefer-offline',
        await run('npm', ['install', '--prefer-offline', ...flags], app),
      );
    }
    manifest = JSON.parse(
      readFileSync(join(app, 'node_modules', PACKAGE, 'package.json'), 'utf8'),
    ) as typeof manifest;

    entriesCheck = join(app, 'entries');
    mkdirSync(entriesCheck, { recursive: true });
    writeFileSync(
      join(entriesCheck, 'entries.ts'),
      entriesOf()
        .map((entry, i) => `import * as entry${i} from '${entry}';\nconsole.log(entry${i});\n`)
        .join(''),
    );
    writeFileSync(
      join(entriesCheck, 'tsconfig.json'),
      JSON.stringify({
        ...APP_TSCONFIG,
        compilerOptions: { ...APP_TSCONFIG.compilerOptions, rootDir: '.', noEmit: true },
        include: ['entries.ts'],
      }),
    );
  }, 2 * STEP_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is built by prepack and holds the build, README, LICENSE and CHANGELOG, and no specs, sources or sample', () => {
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
    ])
      expect(files).toContain(file);
    for (const target of exportTargets(manifest.exports)) expect(files).toContain(target.slice(2));
    expect(files.filter(f => /\.spec\.|^src\/|^test\/|^sample\/|^dist\/sample\//.test(f))).toEqual(
      [],
    );
    const license = readFileSync(join(app, 'node_modules', PACKAGE, 'LICENSE'), 'utf8');
    expect(license).toContain('Apache License');
    expect(license).toContain('Version 2.0, January 2004');
  });

  it(
    'compiles an app using it with tsc: strict, nodenext, library checks on',
    async () => {
      // the exports-map check (a test below judges it) compiles at the same time, on the other core
      entriesCompiled = run(process.execPath, [tsc()], entriesCheck);
      entriesCompiled.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      ok('tsc', await run(process.execPath, [tsc()], app));
      expect(existsSync(join(app, 'dist', 'main.js'))).toBe(true);
    },
    STEP_MS,
  );

  it(
    'boots that app: a feature module injects the clusters, forRoot() without discovery starts nothing, the named clusters start',
    async () => {
      const booted = await run(process.execPath, ['dist/main.js'], app);
      expect(booted).toMatchObject({ code: 0 });
      const line = /^CONSUMER_APP (.*)$/m.exec(booted.stdout);
      expect(line).not.toBeNull();
      expect(JSON.parse(line![1]!)).toEqual([
        { name: 'default', self: expect.stringMatching(/^node-\d+@.+/), started: false, nodes: [] },
        { name: 'blue', self: 'blue@127.0.0.1', started: true, nodes: [] },
        { name: 'green', self: 'green@127.0.0.1', started: true, nodes: [] },
      ]);
    },
    STEP_MS,
  );

  it(
    'loads in a plain Node process and exposes the public API',
    async () => {
      const names = [
        'GenClusterModule',
        'ClusterService',
        'GenCluster',
        'TcpDist',
        'StaticDiscovery',
        'DnsDiscovery',
        'InjectCluster',
        'getClusterToken',
        'DEFAULT_GEN_CLUSTER_OPTIONS',
      ];
      const script = `const m = await import('${PACKAGE}');
console.log(JSON.stringify(${JSON.stringify(names)}.filter(k => !(k in m))));`;
      const result = ok(
        'node',
        await run(process.execPath, ['--input-type=module', '-e', script], app),
      );
      expect(result.stdout.trim()).toBe('[]');
    },
    STEP_MS,
  );

  it(
    'without the optional peers: boots with tracing "auto"; metrics: true and a NATS dist fail naming their package',
    async () => {
      const bare = join(work, 'bare');
      const installed = join(app, 'node_modules', PACKAGE);
      cpSync(installed, join(bare, 'node_modules', PACKAGE), { recursive: true });
      const own = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        peerDependencies: Record<string, string>;
        peerDependenciesMeta?: Record<string, { optional?: boolean }>;
      };
      const optional = Object.keys(own.peerDependenciesMeta ?? {});
      expect(optional).toEqual(
        expect.arrayContaining([
          '@nestjs/terminus',
          'prom-client',
          '@opentelemetry/api',
          '@nats-io/transport-node',
        ]),
      );
      const needed = [
        ...Object.keys(own.dependencies ?? {}),
        ...Object.keys(own.peerDependencies).filter(name => !optional.includes(name)),
      ];
      for (const name of needed) {
        mkdirSync(dirname(join(bare, 'node_modules', name)), { recursive: true });
        symlinkSync(join(app, 'node_modules', name), join(bare, 'node_modules', name), 'dir');
      }
      writeFileSync(join(bare, 'main.mjs'), BARE_MAIN);
      const result = ok('node main.mjs', await run(process.execPath, ['main.mjs'], bare));
      const line = /^BARE (.*)$/m.exec(result.stdout);
      expect(line).not.toBeNull();
      const outcome = JSON.parse(line![1]!) as Record<string, string>;
      expect(outcome).toEqual({
        default: 'ok',
        auto: 'ok',
        tracing: expect.stringMatching(
          /^ERR_OPTIONAL_PACKAGE_MISSING \| @opentelemetry\/api \| .*npm install @opentelemetry\/api/,
        ),
        metrics: expect.stringMatching(
          /^ERR_OPTIONAL_PACKAGE_MISSING \| prom-client \| .*npm install prom-client/,
        ),
        terminus: expect.stringMatching(/^ERR_MODULE_NOT_FOUND .*@nestjs\/terminus/),
        natsEntry: 'loaded',
        nats: expect.stringMatching(
          /^ERR_OPTIONAL_PACKAGE_MISSING \| @nats-io\/transport-node \| .*npm install @nats-io\/transport-node/,
        ),
      });
      expect(result.stderr).toBe('');
    },
    STEP_MS,
  );

  it(
    'resolves every entry of its exports map, in node and in tsc',
    async () => {
      // started by the test that compiles the app; run here when that test was left out
      ok('tsc', await (entriesCompiled ?? run(process.execPath, [tsc()], entriesCheck)));
      // each entry in a process of its own, the processes at once
      const loaded = await Promise.all(
        entriesOf().map(async entry => {
          const script = `const m = await import('${entry}'); console.log(Object.keys(m).length);`;
          const result = ok(
            `import('${entry}')`,
            await run(process.execPath, ['--input-type=module', '-e', script], app),
          );
          return Number(result.stdout.trim());
        }),
      );
      for (const exported of loaded) expect(exported).toBeGreaterThan(0);
    },
    STEP_MS,
  );
});
