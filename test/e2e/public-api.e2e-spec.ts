import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Pins the public surface: the runtime names each package entry exports, and the entry point's
 * declaration file, against snapshots committed in test/api/. A change to the API is then a
 * visible diff in review. After a deliberate change, rewrite the snapshots with
 * `UPDATE_API_SNAPSHOT=1 npm run test:e2e -- public-api`, and note the change in CHANGELOG.md.
 */
const root = process.cwd();
const update = process.env.UPDATE_API_SNAPSHOT === '1';

const ENTRIES = {
  '.': 'dist/src/index.js',
  './testing': 'dist/src/testing/index.js',
  './portmapper': 'dist/src/portmapper/index.js',
  './microservices': 'dist/src/microservices/index.js',
  './terminus': 'dist/src/terminus/index.js',
  './metrics': 'dist/src/metrics/index.js',
  './otel': 'dist/src/otel/index.js',
  './etcd': 'dist/src/etcd/index.js',
  './nats': 'dist/src/nats/index.js',
} as const;

/**
 * Every file a module reaches through static imports (`import ... from`, `export ... from`, bare
 * `import '...'`), relative ones only; a dynamic `import()` is not followed: that is how a lazy
 * implementation stays out of a graph. With `declarations`, the `.d.ts` files the declarations
 * reach.
 */
function staticGraph(entry: string, declarations = false): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, specifier] of text.matchAll(/(?:\bfrom\s*|^\s*import\s*)['"](\.[^'"]+)['"]/gm))
      pending.push(
        join(dirname(file), declarations ? specifier!.replace(/\.js$/, '.d.ts') : specifier!),
      );
  }
  return seen;
}

function compare(snapshot: string, actual: string): void {
  const file = join(root, 'test/api', snapshot);
  if (update || !existsSync(file)) {
    if (!update) throw new Error(`No API snapshot ${file}; run with UPDATE_API_SNAPSHOT=1`);
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('public API', () => {
  it('matches the package.json exports map', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { default?: string } | string>;
    };
    const mapped = Object.entries(pkg.exports)
      .filter(([key]) => key !== './package.json')
      .map(([key, target]) => [key, typeof target === 'string' ? target : target.default]);
    expect(Object.fromEntries(mapped)).toEqual(
      Object.fromEntries(Object.entries(ENTRIES).map(([key, file]) => [key, `./${file}`])),
    );
  });

  it.each(Object.entries(ENTRIES))(
    'exports the pinned runtime names from %s',
    async (entry, file) => {
      const module = (await import(pathToFileURL(join(root, file)).href)) as Record<
        string,
        unknown
      >;
      const names = Object.keys(module).sort();
      const name = entry === '.' ? 'index' : entry.slice(2);
      compare(`${name}.exports.txt`, `${names.join('\n')}\n`);
    },
  );

  it('declares the pinned types in the entry point', () => {
    compare('index.d.ts.txt', readFileSync(join(root, 'dist/src/index.d.ts'), 'utf8'));
  });

  it('keeps test hooks and wire internals out of the main entry', async () => {
    const module = (await import(pathToFileURL(join(root, ENTRIES['.'])).href)) as Record<
      string,
      unknown
    >;
    for (const internal of [
      'encodeEnvelope',
      'decodeEnvelope',
      'canonicalIPv6',
      'readEnvConfig',
      'resolveSchedulerOptions',
      'PortMapperServer',
      'Messaging',
      'MappedHandlerError',
      'toMappedError',
      'fromRemoteError',
      'checkTopic',
    ])
      expect(module).not.toHaveProperty(internal);
  });

  it('keeps @nestjs/microservices (an optional peer) out of the main entry', () => {
    const declared = readFileSync(join(root, 'dist/src/index.d.ts'), 'utf8');
    expect(declared).not.toMatch(
      /from '[^']*microservices[^']*'|GenClusterTransport|GenClusterClientProxy/,
    );
  });

  it('keeps the etcd implementation out of the main entry: only its options type is named', () => {
    const etcdClass = join(root, 'dist/src/discovery/etcd/etcd.discovery.js');
    // the walk finds the class where it is exported, so its absence below means something
    expect(staticGraph(join(root, ENTRIES['./etcd']))).toContain(etcdClass);
    const runtime = [...staticGraph(join(root, ENTRIES['.']))];
    expect(runtime).toContain(join(root, 'dist/src/discovery/etcd/etcd-lazy.js'));
    const implementation =
      /etcd[/](etcd[.]discovery|etcd-client|lease-keeper|prefix-watcher|etcd-gateway)[.]/;
    expect(runtime.filter(file => implementation.test(file))).toEqual([]);
    const declarations = [...staticGraph(join(root, 'dist/src/index.d.ts'), true)];
    expect(declarations).toContain(join(root, 'dist/src/discovery/etcd/etcd-options.d.ts'));
    expect(declarations.filter(file => implementation.test(file))).toEqual([]);
    for (const file of declarations)
      expect(readFileSync(file, 'utf8')).not.toMatch(/class (EtcdDiscovery|EtcdClient)\b/);
  });

  it.each(Object.entries(ENTRIES))(
    'never imports @nats-io (an optional peer) statically from %s: the client loads at init',
    (_, file) => {
      const runtime = [...staticGraph(join(root, file))];
      const staticImport = /(?:\bfrom\s*|^\s*import\s*)['"]@nats-io\//m;
      expect(runtime.filter(f => staticImport.test(readFileSync(f, 'utf8')))).toEqual([]);
    },
  );

  it('walks into the NATS layer from the main entry and ./nats, and finds the lazy load there', () => {
    // the walks above see the NATS code ({ strategy: 'nats' } builds it), so their silence means something
    const natsDist = join(root, 'dist/src/nats/dist/nats.dist.js');
    expect(staticGraph(join(root, ENTRIES['.']))).toContain(natsDist);
    const graph = [...staticGraph(join(root, ENTRIES['./nats']))];
    expect(graph).toContain(natsDist);
    const lazy = graph.filter(f =>
      /import\(\s*['"]@nats-io\/transport-node['"]\s*\)/.test(readFileSync(f, 'utf8')),
    );
    expect(lazy.length).toBeGreaterThan(0);
  });

  it("keeps the handler explorer's unwrapped registration out of ClusterService's declarations", () => {
    const declared = readFileSync(join(root, 'dist/src/nest/cluster.service.d.ts'), 'utf8');
    for (const internal of ['registerHandler', 'registerSubscriber', 'subscribersSupported'])
      expect(declared).not.toContain(internal);
    expect(declared).toContain('subscribe<Req>(');
  });
});
