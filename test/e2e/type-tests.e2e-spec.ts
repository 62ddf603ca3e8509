import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTypeScriptBlocks, packageTypes } from '../support/doc-examples-typescript.js';
import type { CodeBlock, ExampleFailure } from '../support/markdown-blocks.js';

/**
 * The type tests of test/types/ compiled as a user's application compiles them: against the built
 * declarations (dist/src/...d.ts, without `@internal` members; `npm run build` first), with the
 * settings of the docs' examples (strict, nodenext, decorators with metadata). First as written,
 * where every `@ts-expect-error` must be needed; then with those comments removed, where each
 * marked line must give exactly the diagnostic its comment names, and no other line any. So a
 * check that stopped rejecting a misuse fails here, and so does one that rejects correct code.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILES = ['test/types/typed-topics.ts', 'test/types/discovery-options.ts'];
/** `// @ts-expect-error [TS1241 Fragment] why`: the code, and text the message must contain. */
const EXPECT = /^\s*\/\/ @ts-expect-error \[(TS\d+)(?: ([^\]]+))?\]/;

interface Expectation {
  /** The 1-based line of the misuse (the one after the comment). */
  readonly line: number;
  readonly code: string;
  readonly text: string | undefined;
}

/** The file as a module of the package's user: imported by the package's name. */
function asUserModule(file: string, lines: readonly string[]): CodeBlock {
  return {
    file,
    // line i of `lines` is reported as fenceLine + 1 + i: the file's own 1-based numbering
    fenceLine: 0,
    lang: 'ts',
    lines: lines.map(line => line.replace(/'(\.\.\/)+src\/index\.js'/, "'@gen-cluster/nestjs'")),
  };
}

function expectations(lines: readonly string[]): Expectation[] {
  return lines.flatMap((line, i) => {
    const match = EXPECT.exec(line);
    return match ? [{ line: i + 2, code: match[1]!, text: match[2] }] : [];
  });
}

describe.each(FILES)('type tests in %s', file => {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  // the last line is the empty one after the final newline
  if (lines.at(-1) === '') lines.pop();
  const expected = expectations(lines);
  const stripped = lines.map(line => (EXPECT.test(line) ? '//' : line));
  const strippedFile = `${file} without @ts-expect-error`;
  let failures: ExampleFailure[] = [];

  // Both versions in one program: the library's declarations are read once.
  beforeAll(() => {
    failures = checkTypeScriptBlocks(
      [asUserModule(file, lines), asUserModule(strippedFile, stripped)],
      root,
      packageTypes(root),
    );
  });

  it('marks misuses, each with the diagnostic it expects', () => {
    expect(expected.length).toBeGreaterThan(0);
    // a comment that does not parse would silently drop its misuse from the second test
    const marked = lines.filter(line => /^\s*\/\/ @ts-expect-error/.test(line)).length;
    expect(expected).toHaveLength(marked);
  });

  it('compiles, every @ts-expect-error being needed', () => {
    // the compiler's own complaints (options, globals) come under another name
    expect(failures.filter(failure => failure.file !== strippedFile)).toEqual([]);
  });

  it('rejects each marked misuse, and only those, once the comments are removed', () => {
    const byLine = new Map<number, string[]>();
    for (const failure of failures.filter(f => f.file === strippedFile))
      byLine.set(failure.line, [...(byLine.get(failure.line) ?? []), failure.message]);
    for (const { line, code, text } of expected) {
      const messages = byLine.get(line) ?? [];
      expect({ line, messages }).toEqual({
        line,
        messages: [expect.stringContaining(`${code}:`)],
      });
      if (text !== undefined) expect(messages[0]).toContain(text);
      byLine.delete(line);
    }
    // nothing else failed: the misuses are rejected where they are, not elsewhere
    expect([...byLine]).toEqual([]);
  });
});
