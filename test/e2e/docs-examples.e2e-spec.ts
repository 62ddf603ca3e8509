/**
 * The examples of the docs, checked against the real API, so that none can drift from it. Every
 * fenced block of README.md, docs/*.md (but docs/benchmarks.md, which is generated),
 * sample/kubernetes/README.md and CHANGELOG.md is checked by its language:
 *
 * - `ts`: compiled with TypeScript, as in a strict Nest 12 application (`strict`, `nodenext`,
 *   `experimentalDecorators`, `emitDecoratorMetadata`, `isolatedModules`, ESM), all blocks in one
 *   program. `@gen-cluster/nestjs`, `/testing` and `/portmapper` resolve to the built declarations
 *   that package.json's `exports` names (dist/src/...d.ts): those are what a user compiles
 *   against, without the `@internal` members the sources still show (so `npm run build` first;
 *   the suite says so when they are missing or older than src/).
 *   An unmarked block is a complete module: it compiles as is, with its own imports. A fragment is
 *   marked by an HTML comment right before its fence, naming one of two wrappers:
 *   - `<!-- fragment: module -->`: the block is the body of a module (declarations, statements,
 *     top-level `await`). A preamble imports every public name of the three entries and Nest's
 *     common names (`Module`, `Injectable`, `NestFactory`, `Test`, `ConfigModule`, ... see
 *     COMMON_NAMES in test/support/doc-examples-typescript.ts), except the names the block
 *     (or its `given`) declares itself. A block that has an import of its own gets no preamble: its imports must
 *     be complete.
 *   - `<!-- fragment: options -->`: options of `GenClusterModule.forRoot({ ... })`, such as
 *     `discovery: { strategy: 'dns', domain: 'svc.ns' }`. Each entry that starts at column 0 is an
 *     alternative, compiled inside its own `forRoot({ ... })`.
 *   Either may add `; given: DECLARATIONS` (`<!-- fragment: module; given: declare class
 *   OrdersModule {} -->`): TypeScript placed before the block, for the application's own names
 *   that the example uses but does not show.
 * - `yaml`: parsed (errors and warnings fail); a container `env` list that sets `GEN_CLUSTER_*`
 *   variables must be accepted by the library, `$(VAR)` standing for an address.
 * - `json`: parsed.
 * - `sh`: parsed by `bash -n`; a command that sets `GEN_CLUSTER_*` variables in front of it must
 *   describe a cluster `createCluster()` accepts (nothing is started). A block marked
 *   `<!-- run -->` is run with bash in an empty temp dir and must exit 0; only mark a block that
 *   needs no network, no root, no cluster and no state of this machine.
 * - no language: text (diagrams, output), not checked. Any other language fails: give it one of
 *   the above.
 *
 * A failure names the file, the Markdown line and the compiler's (or parser's) message. The
 * `fails ...` tests feed the checks broken examples, so a check that stopped failing would show.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkJsonBlock, checkYamlBlock } from '../support/doc-examples-data.js';
import { checkShellBlock } from '../support/doc-examples-shell.js';
import { checkTypeScriptBlocks, packageTypes } from '../support/doc-examples-typescript.js';
import { type CodeBlock, type ExampleFailure, extractBlocks } from '../support/markdown-blocks.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const DOCS = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter(name => name.endsWith('.md') && name !== 'benchmarks.md')
    .sort()
    .map(name => `docs/${name}`),
  'sample/kubernetes/README.md',
  'CHANGELOG.md',
];

/** The check of each language, by every spelling of it the docs may use. */
const LANGUAGES: Readonly<Record<string, 'ts' | 'sh' | 'yaml' | 'json' | 'text'>> = {
  ts: 'ts',
  typescript: 'ts',
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
  yaml: 'yaml',
  yml: 'yaml',
  json: 'json',
  '': 'text',
};

const blocks = DOCS.flatMap(file => extractBlocks(file, readFileSync(join(root, file), 'utf8')));
const of = (language: string, from: readonly CodeBlock[] = blocks) =>
  from.filter(block => LANGUAGES[block.lang] === language);

/** Fails with every failure, one paragraph each, so a run shows them all at once. */
function expectNone(failures: readonly ExampleFailure[]): void {
  if (failures.length === 0) return;
  const text = failures.map(f => `${f.file}:${f.line}: ${f.message}`).join('\n\n');
  throw new Error(`${failures.length} example(s) fail:\n\n${text}`);
}

/** Broken examples, and good ones beside them, that the checker must tell apart. */
const SELF_CHECK = extractBlocks(
  'self-check.md',
  [
    '```ts', // 1
    'cluster.nodes();', // 2: a fragment without its marker
    '```',
    '<!-- fragment: options -->', // 4
    '```ts',
    "discovery: { strategy: 'dns', domain: 'svc.ns' } // fine",
    "discovery: { strategy: 'dns', domian: 'svc.ns' } // 7: misspelt",
    '```',
    '<!-- fragment: module -->', // 9
    '```ts',
    "import { Module } from '@nestjs/common';",
    '@Injectable() export class A {}', // 12: no preamble beside an import
    '```',
    '<!-- fragment: module; given: declare const orders: { count(): number } -->', // 14
    '```ts',
    '@Injectable()',
    'export class B {',
    '  constructor(readonly cluster: ClusterService) {',
    "    cluster.on('orders.count', () => orders.count());",
    '  }',
    '}',
    '```',
    '<!-- fragment: class-body -->',
    '```ts', // 24: the fence of a block with an unknown marker
    'x = 1;',
    '```',
    '```ts', // 27
    "import { ClusterService } from '@gen-cluster/nestjs';",
    'export const self: number = ({} as ClusterService).self;', // 29: a string
    '```',
  ].join('\n'),
);

describe('the examples of the docs', () => {
  it('finds blocks of each kind, each in a language the suite checks', () => {
    // A floor, not a count: it catches an extractor that silently finds nothing.
    expect(of('ts').length).toBeGreaterThanOrEqual(10);
    expect(of('yaml').length).toBeGreaterThanOrEqual(1);
    expect(of('sh').length).toBeGreaterThanOrEqual(1);
    expectNone(
      blocks
        .filter(block => LANGUAGES[block.lang] === undefined)
        .map(block => ({
          file: block.file,
          line: block.fenceLine,
          message: `no check for the language "${block.lang}": use ${Object.keys(LANGUAGES)
            .filter(Boolean)
            .join(', ')} or none`,
        })),
    );
    expectNone(
      of('text')
        .filter(block => block.marker !== undefined)
        .map(block => ({
          file: block.file,
          line: block.fenceLine,
          message: `unknown marker <!-- ${block.marker} --> on a block without a language`,
        })),
    );
  });

  describe('with the TypeScript blocks compiled in one program', () => {
    let failures: ExampleFailure[];
    beforeAll(() => {
      failures = checkTypeScriptBlocks(
        [...of('ts'), ...of('ts', SELF_CHECK)],
        root,
        packageTypes(root),
      );
    });

    it('compiles every TypeScript block against the built API, fragments in their wrapper', () => {
      expectNone(failures.filter(f => f.file !== 'self-check.md'));
    });

    it('fails a block that does not compile, with its file, line and the compiler message', () => {
      const found = failures.filter(f => f.file === 'self-check.md');
      expect(found.map(f => f.line).sort((a, b) => a - b)).toEqual([2, 7, 12, 24, 29]);
      const at = (line: number) => found.find(f => f.line === line)!.message;
      expect(at(2)).toMatch(/^TS2304: Cannot find name 'cluster'/);
      expect(at(7)).toMatch(/^TS2353: .*'domian'/);
      expect(at(12)).toMatch(/^TS2304: Cannot find name 'Injectable'/);
      expect(at(24)).toMatch(/unknown marker <!-- fragment: class-body -->/);
      expect(at(29)).toMatch(/^TS2322: Type 'string' is not assignable to type 'number'/);
    });
  });

  it('parses every YAML block, and accepts the GEN_CLUSTER_* settings of its env lists', () => {
    expectNone(of('yaml').flatMap(checkYamlBlock));
  });

  it('parses every JSON block', () => {
    expectNone(of('json').flatMap(checkJsonBlock));
  });

  it('parses every shell block, accepts its GEN_CLUSTER_* settings and runs those marked run', () => {
    expectNone(of('sh').flatMap(checkShellBlock));
  });

  it('fails a broken YAML, JSON or shell block, or refused cluster settings', () => {
    const broken = extractBlocks(
      'self-check.md',
      [
        '```yaml', // 1
        'env:',
        '  - { name: GEN_CLUSTER_NODE, value: app@$(POD_IP) }',
        '  - { name: GEN_CLUSTER_DISCOVERY, value: dns }', // 4: no domain
        '```',
        '```yaml', // 6
        'a: [1, 2', // 7: never closed
        '```',
        '```json', // 9
        '{ "type": peers }',
        '```',
        '```sh', // 12
        'echo "never closed',
        '```',
        '```sh', // 15
        'GEN_CLUSTER_NODE=app@10.0.0.1 GEN_CLUSTER_PORT=70000 \\', // 16: no such port
        '  GEN_CLUSTER_DISCOVERY=static:app@10.0.0.2 node dist/main.js',
        '```',
        '<!-- run -->', // 19
        '```sh',
        'test -d /',
        '```',
        '<!-- run -->',
        '```sh', // 24
        'false',
        '```',
      ].join('\n'),
    );
    const failures = [
      ...of('yaml', broken).flatMap(checkYamlBlock),
      ...of('json', broken).flatMap(checkJsonBlock),
      ...of('sh', broken).flatMap(checkShellBlock),
    ];
    expect(failures.map(f => f.line)).toEqual([1, 7, 9, 12, 16, 24]);
    expect(failures[0]!.message).toMatch(/GEN_CLUSTER_DISCOVERY/);
    expect(failures[4]!.message).toMatch(/GEN_CLUSTER_PORT.*70000/);
    expect(failures[5]!.message).toMatch(/ran and failed \(exit 1\)/);
  });
});
