/**
 * Checks the shell blocks of the docs (test/e2e/docs-examples.e2e-spec.ts): every block parses as
 * bash, every command that sets `GEN_CLUSTER_*` variables describes a cluster the library accepts,
 * and a block marked `<!-- run -->` runs and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster } from '../../src/index.js';
import type { CodeBlock, ExampleFailure } from './markdown-blocks.js';

const RUN_TIMEOUT_MS = 10_000;

/** What failed in one shell block: bash syntax, `GEN_CLUSTER_*` settings, a run. */
export function checkShellBlock(block: CodeBlock): ExampleFailure[] {
  const failures: ExampleFailure[] = [];
  const fail = (line: number, message: string) =>
    failures.push({ file: block.file, line, message });
  if (block.marker !== undefined && block.marker !== 'run') {
    fail(
      block.fenceLine,
      `unknown marker <!-- ${block.marker} -->; a shell block takes <!-- run -->`,
    );
  }
  const script = block.lines.join('\n') + '\n';
  const syntax = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  if (syntax.status !== 0) fail(block.fenceLine, `bash -n: ${syntax.stderr.trim()}`);

  for (const { line, env } of clusterSettings(block)) {
    const problem = checkClusterEnv(env);
    if (problem !== undefined) fail(line, problem);
  }

  if (block.marker === 'run' && syntax.status === 0) {
    const cwd = mkdtempSync(join(tmpdir(), 'docs-example-'));
    try {
      const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
        cwd,
        encoding: 'utf8',
        timeout: RUN_TIMEOUT_MS,
        env: withoutClusterSettings(process.env),
      });
      if (run.status !== 0) {
        const why = run.error ? run.error.message : `exit ${run.status ?? run.signal}`;
        fail(block.fenceLine, `the block ran and failed (${why}):\n${run.stdout}${run.stderr}`);
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }
  return failures;
}

/**
 * The `GEN_CLUSTER_*` variables that each command of the block sets in front of it
 * (`GEN_CLUSTER_NODE=app@10.0.0.1 ... node dist/main.js`), continuation lines joined, with the
 * Markdown line where the command starts.
 */
export function clusterSettings(block: CodeBlock): { line: number; env: Record<string, string> }[] {
  const commands: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  block.lines.forEach((text, i) => {
    const line = block.fenceLine + 1 + i;
    current = current ? { line: current.line, text: current.text + ' ' + text } : { line, text };
    if (text.endsWith('\\')) current.text = current.text.slice(0, -1);
    else {
      commands.push(current);
      current = undefined;
    }
  });
  if (current) commands.push(current);

  const settings: { line: number; env: Record<string, string> }[] = [];
  for (const { line, text } of commands) {
    const env: Record<string, string> = {};
    let rest = text.trimStart();
    for (;;) {
      const match = /^([A-Za-z_]\w*)=('[^']*'|"[^"]*"|[^\s'"]*)(\s+|$)/.exec(rest);
      if (!match) break;
      env[match[1]!] = match[2]!.replace(/^(['"])([\s\S]*)\1$/, '$2');
      rest = rest.slice(match[0].length);
    }
    if (Object.keys(env).some(name => name.startsWith('GEN_CLUSTER_')))
      settings.push({ line, env });
  }
  return settings;
}

/**
 * Whether the library accepts these `GEN_CLUSTER_*` variables: the message of the error that
 * `createCluster()` throws for them, or undefined. Nothing is started. So that no cookie file is
 * read or created, a placeholder `GEN_CLUSTER_COOKIE` stands in when none is set; a command that
 * names no discovery is checked with `local`, since `createCluster()` needs one (unless
 * `GEN_CLUSTER_DIST` names NATS, whose dist finds its peers itself).
 */
export function checkClusterEnv(settings: Readonly<Record<string, string>>): string | undefined {
  // the NATS dist finds its peers itself: no discovery stands in for it
  const dist = settings.GEN_CLUSTER_DIST;
  const findsPeers = dist !== undefined && dist.trim() !== '' && dist.trim() !== 'tcp';
  const env: Record<string, string> = {
    GEN_CLUSTER_COOKIE: 'docs-example',
    ...(findsPeers ? {} : { GEN_CLUSTER_DISCOVERY: 'local' }),
    ...Object.fromEntries(
      Object.entries(settings).filter(([name]) => name.startsWith('GEN_CLUSTER_')),
    ),
  };
  const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
  try {
    createCluster({ env, logger: quiet });
    return undefined;
  } catch (error) {
    return `these GEN_CLUSTER_* settings are refused: ${(error as Error).message}`;
  }
}

function withoutClusterSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) => !name.startsWith('GEN_CLUSTER_') && name !== 'NODE_OPTIONS',
    ),
  );
}
