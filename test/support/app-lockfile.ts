import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** One `packages` entry of a package-lock.json (version 3). */
interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [field: string]: unknown;
}

/** The manifest fields of the packed package that its lockfile entry repeats. */
export interface PackedManifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly engines?: Record<string, string>;
}

/** `node_modules/a/node_modules/b` -> `node_modules/a`; `node_modules/a` -> `` (the root). */
const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/node_modules/')));

/**
 * A package.json and package-lock.json for a new application depending on `packages` (at the
 * versions this repository's lockfile holds) and on the tarball `tarball` (whose manifest is
 * `packed`), cut from the repository's package-lock.json at `root`.
 *
 * Why: npm 11 asks for the full registry document of every package named on an `npm install`
 * command line, while `npm ci` caches only the abbreviated one, so `npm install --offline <name>`
 * misses the cache. With a complete lockfile npm needs only what `npm ci` fetched, and the
 * application gets exactly the versions the repository is tested with.
 */
export function appLockfile(
  root: string,
  packages: readonly string[],
  tarball: string,
  packed: PackedManifest,
): { manifest: object; lockfile: object } {
  const repoLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const entries: Record<string, LockEntry> = {};

  const add = (path: string, entry: LockEntry) => {
    if (entries[path]) return;
    // The app installs for production: no entry is a dev (or peer-only) dependency there.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry;
    entries[path] = kept;
    for (const name of Object.keys(entry.dependencies ?? {})) resolve(path, name, false);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) resolve(path, name, true);
    for (const name of Object.keys(entry.peerDependencies ?? {}))
      if (!entry.peerDependenciesMeta?.[name]?.optional) resolve(path, name, false);
  };
  // Node's lookup: the nearest node_modules folder upwards from the dependent that holds `name`.
  const resolve = (from: string, name: string, optional: boolean) => {
    for (let base = from; ; base = parentOf(base)) {
      const path = `${base ? `${base}/` : ''}node_modules/${name}`;
      const entry = repoLock.packages[path];
      if (entry) return add(path, entry);
      if (!base) break;
    }
    if (!optional)
      throw new Error(`${name} (needed by ${from || 'the app'}) is not in the lockfile`);
  };

  const dependencies: Record<string, string> = {};
  for (const name of packages) {
    const version = repoLock.packages[`node_modules/${name}`]?.version;
    if (!version) throw new Error(`${name} is not in ${root}/package-lock.json`);
    dependencies[name] = version;
  }
  const spec = `file:../${basename(tarball)}`;
  dependencies[packed.name] = spec;
  const digest = createHash('sha512').update(readFileSync(tarball)).digest('base64');
  add(`node_modules/${packed.name}`, {
    version: packed.version,
    resolved: spec,
    integrity: `sha512-${digest}`,
    license: packed.license,
    dependencies: packed.dependencies,
    peerDependencies: packed.peerDependencies,
    engines: packed.engines,
  });
  for (const name of packages) resolve('', name, false);

  const manifest = { name: 'consumer-app', private: true, type: 'module', dependencies };
  const lockfile = {
    name: 'consumer-app',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'consumer-app', dependencies }, ...entries },
  };
  return { manifest, lockfile };
}
