import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  exports: Record<string, unknown>;
  files: string[];
  peerDependencies: Record<string, string>;
  dependencies: Record<string, string>;
  engines: { node: string };
};

/**
 * The manifest of the published package. What `npm pack` makes of it, installed and used by a new
 * Nest application, is checked in consumer-app.e2e-spec.ts.
 */
describe('the published package', () => {
  it('peer-depends on Nest, rxjs and reflect-metadata instead of bundling them', () => {
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual([
      '@nestjs/common',
      '@nestjs/core',
      'reflect-metadata',
      'rxjs',
    ]);
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
