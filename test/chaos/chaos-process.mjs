// One node of the chaos soak (test/chaos): a Nest application context with
// `GenClusterModule.forRoot(<CHAOS_OPTIONS>)`, the rest (name, port, discovery, cookie) from the
// GEN_CLUSTER_* environment. It runs the built library (dist/src): `npm run build` comes first.
//
// It reports on stdout, one line each, so that the harness keeps a complete record even of a node
// it kills -9 (writes to a pipe are synchronous on Linux) and needs no HTTP into the namespace:
//   CHAOS_READY {"pid","members"}          once the application has bootstrapped
//   CHAOS_EVENT {"seq","type","node","reason"?}   every nodeUp/nodeDown, in emission order
//   CHAOS_VIEW  {"members","pending","oldestPendingMs","sent","answered","failed"}
//                                          on every change of nodes(), and every second
//   CHAOS_MEM   {"heapUsed","rss","external","arrayBuffers"}   after a full GC, on "mem" in stdin
//   CHAOS_WARNING {"name","message"}       every process warning (a MaxListeners leak, ...)
// Traffic: every REQUEST_EVERY_MS a `ping` request to a random member, so that requests are in
// flight when peers die; the harness checks that none stays pending past its timeout.
import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClusterService, GenClusterModule } from '../../dist/src/index.js';

const options = JSON.parse(process.env.CHAOS_OPTIONS ?? '{}');
const REQUEST_EVERY_MS = Number(process.env.CHAOS_REQUEST_EVERY_MS ?? 200);
const REQUEST_TIMEOUT_MS = Number(process.env.CHAOS_REQUEST_TIMEOUT_MS ?? 3_000);
const VIEW_EVERY_MS = 1_000;

const report = (kind, body) => process.stdout.write(`CHAOS_${kind} ${JSON.stringify(body)}\n`);
process.on('warning', warning =>
  report('WARNING', { name: warning.name, message: warning.message }),
);

/** Subscribes before the cluster starts (onModuleInit comes before onApplicationBootstrap). */
class EventTap {
  constructor(cluster) {
    this.cluster = cluster;
    this.seq = 0;
  }
  onModuleInit() {
    this.cluster.events$.subscribe(event => {
      if (event.type !== 'nodeUp' && event.type !== 'nodeDown') return;
      report('EVENT', {
        seq: this.seq++,
        type: event.type,
        node: event.node,
        reason: event.reason,
      });
    });
  }
}
Inject(ClusterService)(EventTap, undefined, 0);
Injectable()(EventTap);

class ChaosModule {}
Module({ imports: [GenClusterModule.forRoot(options)], providers: [EventTap] })(ChaosModule);

const app = await NestFactory.createApplicationContext(ChaosModule, {
  logger: ['log', 'warn', 'error'],
});
app.enableShutdownHooks();
const cluster = app.get(ClusterService);
cluster.on('ping', payload => payload);

const pending = new Map();
const stats = { sent: 0, answered: 0, failed: 0 };
let nextId = 0;
const traffic = setInterval(() => {
  const members = cluster.nodes();
  if (members.length === 0) return;
  const peer = members[Math.floor(Math.random() * members.length)];
  const id = nextId++;
  pending.set(id, performance.now());
  stats.sent++;
  cluster
    .request(peer, 'ping', { id }, { timeoutMs: REQUEST_TIMEOUT_MS })
    .then(
      () => stats.answered++,
      () => stats.failed++,
    )
    .finally(() => pending.delete(id));
}, REQUEST_EVERY_MS);

let lastView = '';
const view = force => {
  const members = cluster.nodes();
  const key = members.join(',');
  if (!force && key === lastView) return;
  lastView = key;
  let oldest = 0;
  const now = performance.now();
  for (const started of pending.values()) oldest = Math.max(oldest, now - started);
  report('VIEW', {
    members,
    pending: pending.size,
    oldestPendingMs: Math.round(oldest),
    ...stats,
  });
};
const watcher = setInterval(() => view(false), 100);
const ticker = setInterval(() => view(true), VIEW_EVERY_MS);

createInterface({ input: process.stdin }).on('line', line => {
  if (line.trim() !== 'mem') return;
  globalThis.gc?.();
  const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
  report('MEM', { heapUsed, rss, external, arrayBuffers, gc: typeof globalThis.gc === 'function' });
});

process.once('SIGTERM', () => {
  clearInterval(traffic);
  clearInterval(watcher);
  clearInterval(ticker);
});
report('READY', { pid: process.pid, members: cluster.nodes() });
