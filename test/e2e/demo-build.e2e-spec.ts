import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain ES module script without declarations
import { buildIfStale } from '../../scripts/build-if-stale.mjs';

const build = buildIfStale as (root: string) => number;

/** A project whose `npm run build` only records that it ran, by writing dist/sample/main.js. */
function project(): string {
  const root = mkdtempSync(join(tmpdir(), `demo-build-${process.pid}-`));
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src', 'index.ts'), 'export {};\n');
  const script =
    "require('fs').mkdirSync('dist/sample',{recursive:true});require('fs').appendFileSync('dist/sample/main.js','built\\n')";
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'p', private: true, scripts: { build: `node -e "${script}"` } }),
  );
  return root;
}

describe('npm start builds only when the sources changed', () => {
  let root: string;
  beforeEach(() => (root = project()));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('builds when dist/ is missing, skips an up-to-date build, rebuilds after a source change', () => {
    const main = join(root, 'dist', 'sample', 'main.js');
    expect(build(root)).toBe(0);
    const first = statSync(main).mtimeMs;
    expect(build(root)).toBe(0);
    expect(statSync(main).mtimeMs).toBe(first); // nothing changed: no build
    const later = new Date(first + 5_000);
    utimesSync(join(root, 'src', 'index.ts'), later, later);
    expect(build(root)).toBe(0);
    expect(statSync(main).size).toBe('built\n'.length * 2); // the build ran again
  });
});
