#!/usr/bin/env node
// `npm run bench:docs`: writes docs/benchmarks.md from a results file of bench/run.mjs.
//
//   node bench/docs.mjs [--in bench/results/latest.json] [--out docs/benchmarks.md]
//
// The page (bench/lib/docs-page.mjs) says how the figures were measured and on what machine,
// marks each target of bench/targets.mjs met or missed, and shows the tables the run printed.
// It is formatted with the project's Prettier settings, so `npm run lint` accepts it as written.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderBenchmarksPage } from './lib/docs-page.mjs';
import { argReader } from './lib/options.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** Formats with Prettier (a devDependency) and the project's settings; as is without it. */
async function format(markdown, file) {
  let prettier;
  try {
    prettier = await import('prettier');
  } catch {
    return markdown;
  }
  // the project's settings, wherever the page is written
  const options = (await prettier.resolveConfig(join(root, 'docs', 'benchmarks.md'))) ?? {};
  // wrapped here; the project's own setting (preserve) keeps the lines as they are
  return prettier.format(markdown, { ...options, proseWrap: 'always', filepath: file });
}

async function main() {
  const args = argReader(process.argv.slice(2));
  const input = resolve(args.option('in', join(here, 'results', 'latest.json')));
  const output = resolve(args.option('out', join(root, 'docs', 'benchmarks.md')));
  let result;
  try {
    result = JSON.parse(readFileSync(input, 'utf8'));
  } catch (error) {
    process.stderr.write(
      `bench:docs: cannot read ${input} (${error.message}); run "npm run bench" first\n`,
    );
    process.exit(1);
  }
  if (!Array.isArray(result.records) || !result.config || !result.date) {
    process.stderr.write(`bench:docs: ${input} is not a results file of bench/run.mjs\n`);
    process.exit(1);
  }
  // the page names its source relative to the repository when it is inside it
  const inRepo = relative(root, input);
  const source = inRepo.startsWith('..') ? input : inRepo.split(sep).join('/');
  const page = await format(renderBenchmarksPage(result, { source }), output);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, page);
  process.stdout.write(`bench:docs: wrote ${output} from ${input} (run of ${result.date})\n`);
}

await main();
