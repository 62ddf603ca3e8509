/**
 * Checks the YAML and JSON blocks of the docs (test/e2e/docs-examples.e2e-spec.ts): each parses,
 * and a YAML container `env` list that sets `GEN_CLUSTER_*` variables describes a cluster the
 * library accepts.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { checkClusterEnv } from './doc-examples-shell.js';
import type { CodeBlock, ExampleFailure } from './markdown-blocks.js';

/**
 * Stands in for each `$(VAR)` of a Kubernetes env value (`app@$(POD_IP)`): an address, the only
 * kind of value the docs substitute into `GEN_CLUSTER_*` variables.
 */
const SUBSTITUTED = '10.0.0.1';

/** What failed in one YAML block: a parse error or warning, refused `GEN_CLUSTER_*` settings. */
export function checkYamlBlock(block: CodeBlock): ExampleFailure[] {
  const failures: ExampleFailure[] = [];
  const fail = (line: number, message: string) =>
    failures.push({ file: block.file, line, message });
  if (block.marker !== undefined) fail(block.fenceLine, `unknown marker <!-- ${block.marker} -->`);
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(block.lines.join('\n'), { lineCounter, prettyErrors: false });
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    // The first error only: the parser's later ones mostly follow from it.
    for (const problem of [...document.errors.slice(0, 1), ...document.warnings]) {
      const at = lineCounter.linePos(problem.pos[0]).line;
      fail(block.fenceLine + at, `YAML: ${problem.message}`);
    }
    if (document.errors.length > 0) continue;
    for (const env of envLists(document.toJS())) {
      const problem = checkClusterEnv(env);
      if (problem !== undefined) fail(block.fenceLine, problem);
    }
  }
  return failures;
}

/** What failed in one JSON block: it must be one JSON value. */
export function checkJsonBlock(block: CodeBlock): ExampleFailure[] {
  if (block.marker !== undefined) {
    return [
      {
        file: block.file,
        line: block.fenceLine,
        message: `unknown marker <!-- ${block.marker} -->`,
      },
    ];
  }
  try {
    JSON.parse(block.lines.join('\n'));
    return [];
  } catch (error) {
    return [
      { file: block.file, line: block.fenceLine, message: `JSON: ${(error as Error).message}` },
    ];
  }
}

/** Every list of `{ name, value }` entries that sets a `GEN_CLUSTER_*` variable, as an env. */
function envLists(value: unknown): Record<string, string>[] {
  if (Array.isArray(value)) {
    const env: Record<string, string> = {};
    for (const entry of value) {
      const { name, value: text } = (entry ?? {}) as { name?: unknown; value?: unknown };
      if (typeof name === 'string' && typeof text === 'string') {
        env[name] = text.replace(/\$\([A-Za-z_]\w*\)/g, SUBSTITUTED);
      }
    }
    const nested = value.flatMap(envLists);
    return Object.keys(env).some(name => name.startsWith('GEN_CLUSTER_'))
      ? [env, ...nested]
      : nested;
  }
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(envLists);
  return [];
}
