import { execFileSync } from 'node:child_process';
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

  it('loads in a plain Node process and exposes the public API', () => {
    const script = `import('${join(root, manifest.main)}').then(m => console.log(JSON.stringify(['GenClusterModule','ClusterService','GenCluster','TcpDist','StaticDiscovery','DnsDiscovery','InjectCluster','getClusterToken','DEFAULT_GEN_CLUSTER_OPTIONS'].filter(k => !(k in m)))))`;
    const missing = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
    })
      .toString()
      .trim();
    expect(missing).toBe('[]');
  });
});
