#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `node --cpu-prof`, see `bench/run.mjs --cpu-prof`): the
// functions with the most self time, with file:line, and self time by file.
//   node bench/prof-summary.mjs FILE.cpuprofile [--top 30] [--match dist/src/,@nestjs/]
// --match: the paths whose functions get the inclusive-time list (this project's by default; add
// `@nestjs/` to see where a Nest stack's time goes).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/prof-summary.mjs FILE.cpuprofile [--top N]\n');
  process.exit(1);
}
const topIndex = process.argv.indexOf('--top');
const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;
const matchIndex = process.argv.indexOf('--match');
const match =
  matchIndex > 0 ? process.argv[matchIndex + 1].split(',').filter(Boolean) : ['dist/src/'];
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map(n => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const where = cf => {
  let url = cf.url || '';
  if (url.startsWith('file://')) url = relative(process.cwd(), fileURLToPath(url));
  return url ? `${url}:${cf.lineNumber + 1}` : '(native)';
};
const fns = new Map();
const files = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${where(cf)}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  const f = cf.url
    ? where(cf).replace(/:\d+$/, '')
    : cf.functionName.startsWith('(')
      ? cf.functionName
      : '(native)';
  files.set(f, (files.get(f) ?? 0) + us);
}
// inclusive time: self time of a node plus its descendants, summed per function (each function
// counted once per stack, so recursion does not inflate it)
const children = new Map(profile.nodes.map(n => [n.id, n.children ?? []]));
const inclusive = new Map();
const walk = (id, onStack) => {
  const node = byId.get(id);
  const cf = node.callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${where(cf)}`;
  let sum = self.get(id) ?? 0;
  const added = !onStack.has(key);
  if (added) onStack.add(key);
  for (const child of children.get(id)) sum += walk(child, onStack);
  if (added) {
    onStack.delete(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + sum);
  }
  return sum;
};
walk(profile.nodes[0].id, new Set());
const pct = us => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\nself time by function');
for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${pct(us)}  ${k}`);
console.log(`\ninclusive time, functions of ${match.join(', ')}`);
for (const [k, us] of [...inclusive]
  .filter(([k]) => match.some(m => k.includes(m)))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${pct(us)}  ${k}`);
console.log('\nself time by file');
for (const [k, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`${pct(us)}  ${k}`);
