/** loadOptional: "install it" only when the package itself is missing. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionalPackageMissingError, loadOptional } from './optional-package.js';

/**
 * Real modules on disk, imported for real: a local file importing an absent package, an
 * installed package whose own dependency is absent, and one that throws while loading.
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `optional-package-${process.pid}-`));
  const pkg = (name: string, body: string) => {
    mkdirSync(join(dir, 'node_modules', name), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules', name, 'package.json'),
      JSON.stringify({ name, type: 'module', main: 'index.js' }),
    );
    writeFileSync(join(dir, 'node_modules', name, 'index.js'), body);
  };
  pkg('broken-peer', "import 'absent-dependency-of-peer';\nexport const x = 1;\n");
  pkg('throwing-peer', "throw new TypeError('needs Node 99');\n");
  writeFileSync(join(dir, 'uses-absent.mjs'), "import 'absent-peer';\nexport const y = 1;\n");
  writeFileSync(join(dir, 'uses-broken.mjs'), "import 'broken-peer';\nexport const y = 1;\n");
  writeFileSync(join(dir, 'uses-throwing.mjs'), "import 'throwing-peer';\nexport const y = 1;\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (pkg: string, file: string) =>
  loadOptional(pkg, 'the tests', () => import(join(dir, file))).catch((e: unknown) => e);

describe('loadOptional', () => {
  it('resolves with the module when it loads', async () => {
    await expect(loadOptional('node:path', 'the tests', () => import('node:path'))).resolves.toBe(
      await import('node:path'),
    );
  });

  it('says to install a package that is not installed, keeping the cause', async () => {
    const error = (await load('absent-peer', 'uses-absent.mjs')) as OptionalPackageMissingError;
    expect(error).toBeInstanceOf(OptionalPackageMissingError);
    expect(error).toMatchObject({
      code: 'ERR_OPTIONAL_PACKAGE_MISSING',
      packageName: 'absent-peer',
    });
    expect(error.message).toContain('npm install absent-peer');
    expect((error.cause as Error).message).toContain('absent-peer');
  });

  it.each([
    ['broken-peer', 'uses-broken.mjs', /absent-dependency-of-peer/],
    ['throwing-peer', 'uses-throwing.mjs', /needs Node 99/],
  ])(
    'does not say to install %s, which is installed but fails to load; says why',
    async (pkg, file, reason) => {
      const error = (await load(pkg, file)) as OptionalPackageMissingError;
      expect(error).toBeInstanceOf(OptionalPackageMissingError);
      expect(error).toMatchObject({ code: 'ERR_OPTIONAL_PACKAGE_MISSING', packageName: pkg });
      expect(error.message).not.toMatch(/install/i);
      expect(error.message).toContain(`The package "${pkg}" is needed for the tests`);
      expect(error.message).toMatch(/could not be loaded: /);
      expect(error.message).toMatch(reason);
      expect((error.cause as Error).message).toMatch(reason);
    },
  );

  it('does not say to install the package when the loading file itself is missing', async () => {
    const error = (await load('absent-peer', 'no-such-file.mjs')) as OptionalPackageMissingError;
    expect(error).toBeInstanceOf(OptionalPackageMissingError);
    expect(error.message).not.toMatch(/install/i);
    expect(error.message).toContain('no-such-file.mjs');
  });
});
