#!/usr/bin/env node
// `npm start`: three sample nodes on this machine that form a cluster, with a live view of who is
// connected to whom. Keys 1-3 stop/start a node; q or Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfStale } from './build-if-stale.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'sample', 'main.js');
const COUNT = 3;

// Builds only what changed since the last build (GEN_CLUSTER_DEMO_BUILD=0 skips the check).
if (!existsSync(main) || process.env.GEN_CLUSTER_DEMO_BUILD !== '0') {
  const status = buildIfStale(root);
  if (status !== 0) process.exit(status);
}

// Zero configuration: each node takes a default name (node-<pid>@<hostname>), an ephemeral dist
// port and the cookie of ~/.gen-cluster.cookie, and registers with the host's port mapper (the
// first node to start provides it); `local` discovery asks the mapper who else is there.
const nodes = Array.from({ length: COUNT }, () => ({
  name: '',
  child: undefined,
  http: 0,
  view: undefined,
  log: [],
}));

function start(node) {
  const child = spawn(process.execPath, [main], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GEN_CLUSTER_DISCOVERY: 'local',
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '1000',
    },
  });
  node.child = child;
  node.http = 0;
  node.log = [];
  child.stdout.on('data', chunk => {
    const text = chunk.toString();
    const ready = /SAMPLE_READY (\{.*\})/.exec(text);
    if (ready) node.http = JSON.parse(ready[1]).http;
    for (const raw of text.split('\n')) {
      // eslint-disable-next-line no-control-regex
      const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
      if (/Node (up|down)/.test(line)) node.log.push(line.replace(/^.*?(Node (up|down))/, '$1'));
    }
    node.log.splice(0, Math.max(0, node.log.length - 3));
  });
  child.stderr.on('data', chunk => node.log.push(chunk.toString().trim()));
  child.on('exit', () => {
    if (node.child === child) node.child = undefined;
    node.view = undefined;
  });
}

async function poll() {
  await Promise.all(
    nodes.map(async node => {
      if (!node.child || !node.http) return;
      try {
        const response = await fetch(`http://127.0.0.1:${node.http}/cluster`, {
          signal: AbortSignal.timeout(500),
        });
        node.view = await response.json();
        node.name = node.view.self;
      } catch {
        node.view = undefined;
      }
    }),
  );
}

// The namespace the nodes report (GET /cluster), else the one they were started with.
function namespace() {
  const reported = nodes.find(node => node.view?.namespace)?.view.namespace;
  return reported ?? (process.env.GEN_CLUSTER_NAMESPACE || 'default');
}

function render() {
  const lines = [
    `gen-cluster demo: three sample nodes on this machine, clustered by local discovery, in namespace "${namespace()}"`,
    'Another demo started with GEN_CLUSTER_NAMESPACE=<other> npm start stays a cluster apart.',
    '',
  ];
  for (const [i, node] of nodes.entries()) {
    const state = node.child ? (node.view ? 'up' : 'starting') : 'stopped';
    const members = node.view ? node.view.members : [];
    lines.push(
      `[${i + 1}] ${node.name.padEnd(20)} ${state.padEnd(9)} sees ${members.length}: ${members.join(', ') || '-'}`,
    );
    for (const entry of node.log) lines.push(`      ${entry}`);
  }
  lines.push(
    '',
    `GET /cluster on each: ${nodes.map(n => (n.http ? `http://127.0.0.1:${n.http}/cluster` : '-')).join('  ')}`,
  );
  lines.push('Keys: 1-3 stop/start a node, q or Ctrl-C to quit.');
  process.stdout.write(`\x1b[2J\x1b[H${lines.join('\n')}\n`);
}

let quitting = false;
async function quit() {
  if (quitting) return;
  quitting = true;
  clearInterval(timer);
  const exits = nodes
    .filter(n => n.child)
    .map(
      n =>
        new Promise(resolve => {
          n.child.once('exit', resolve);
          n.child.kill('SIGTERM');
          setTimeout(() => n.child?.kill('SIGKILL'), 5_000).unref();
        }),
    );
  await Promise.all(exits);
  process.stdout.write('All demo nodes stopped.\n');
  process.exit(0);
}

for (const node of nodes) start(node);
const timer = setInterval(async () => {
  await poll();
  if (!quitting) render();
}, 500);
process.on('SIGINT', quit);
process.on('SIGTERM', quit);
if (process.stdin.isTTY) {
  process.stdin.setRawMode(true);
  process.stdin.resume();
  process.stdin.on('data', key => {
    const k = key.toString();
    if (k === 'q' || k === '\u0003') return void quit();
    const index = Number(k) - 1;
    const node = nodes[index];
    if (!node) return;
    if (node.child) node.child.kill('SIGTERM');
    else start(node);
  });
}
