import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
} as const;

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

  it("keeps the handler explorer's unwrapped registration out of ClusterService's declarations", () => {
    const declared = readFileSync(join(root, 'dist/src/nest/cluster.service.d.ts'), 'utf8');
    for (const internal of ['registerHandler', 'registerSubscriber', 'subscribersSupported'])
      expect(declared).not.toContain(internal);
    expect(declared).toContain('subscribe<Req>(');
  });
});
