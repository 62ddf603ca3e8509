// This library inside Nest, as an application uses it: a Nest application context with
// GenClusterModule.forRoot({ discovery: static, dist: tcp }) (defaults otherwise: msgpack payloads,
// heartbeat 1 s, failure timeout 5 s; no port mapper), imported from the build (dist/src, or
// BENCH_DIST). The server registers `echo`, `sink` and `count` one of two ways, which is all that differs:
// - `on`: `cluster.on(topic, fn)` in `onModuleInit` of a provider (the imperative API);
// - `decorated`: `@ClusterHandler(topic)` methods, found by the explorer and called through Nest's
//   pipeline (ExternalContextCreator), with no guard, pipe, interceptor or filter.
// The client is the same Nest application for both: `ClusterService.request` to the server.
// Decorators are applied by call, as plain JavaScript has no decorator syntax (see nest.mjs).
import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { distUrl, messagingClient } from '../common.mjs';
import { COOKIE } from './ours.mjs';

const lib = await import(distUrl('index.js'));
const { ClusterService, GenClusterModule } = lib;

const SERVER = 'srv@127.0.0.1';

/** Applies a method decorator to `method` of `cls`, as TypeScript's emitted code does. */
const decorateMethod = (cls, method, decorator) => {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, method);
  const result = decorator(cls.prototype, method, descriptor);
  if (result) Object.defineProperty(cls.prototype, method, result);
};

/** A provider whose constructor takes the ClusterService, decorated by call. */
const injectable = cls => {
  Inject(ClusterService)(cls, undefined, 0);
  Injectable()(cls);
  return cls;
};

/** The server's handlers registered with `cluster.on()` in `onModuleInit`. */
function onHandlers() {
  class BenchHandlers {
    received = 0;
    constructor(cluster) {
      this.cluster = cluster;
    }
    onModuleInit() {
      this.cluster.on('echo', p => p);
      this.cluster.on('sink', () => {
        this.received++;
      });
      this.cluster.on('count', () => this.received);
    }
  }
  return injectable(BenchHandlers);
}

/** The server's handlers as `@ClusterHandler` methods (payload and context as arguments). */
function decoratedHandlers() {
  const { ClusterHandler } = lib;
  if (typeof ClusterHandler !== 'function')
    throw new Error('the build has no ClusterHandler export: run "npm run build"');
  class BenchHandlers {
    received = 0;
    echo(p) {
      return p;
    }
    sink() {
      this.received++;
    }
    count() {
      return this.received;
    }
  }
  Injectable()(BenchHandlers);
  for (const topic of ['echo', 'sink', 'count'])
    decorateMethod(BenchHandlers, topic, ClusterHandler(topic));
  return BenchHandlers;
}

/** A Nest application context that is one node, with `providers` beside the cluster module. */
async function startApp({ name, peers, providers }) {
  class BenchModule {}
  Module({
    imports: [
      GenClusterModule.forRoot({
        node: name,
        useEnv: false,
        logLevel: 'warn',
        discovery: { strategy: 'static', nodes: peers },
        dist: { strategy: 'tcp', cookie: COOKIE, port: 0, portMapper: false },
      }),
    ],
    providers,
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, {
    logger: ['warn', 'error'],
  });
  return { app, cluster: app.get(ClusterService) };
}

/** The stack of one variant, `'on'` or `'decorated'`, with the interface child.mjs expects. */
export function variant(kind) {
  const handlers = { on: onHandlers, decorated: decoratedHandlers }[kind];
  if (!handlers) throw new Error(`unknown Nest variant ${kind}`);
  return {
    async serve() {
      const { cluster } = await startApp({ name: SERVER, peers: [], providers: [handlers()] });
      return { port: cluster.engine.strategies.dist.port, node: cluster.self };
    },
    async connect({ port }) {
      const { app, cluster } = await startApp({
        name: 'cli@127.0.0.1',
        peers: [`${SERVER}:${port}`],
        providers: [],
      });
      await cluster.waitForMembers(1, { timeoutMs: 15_000 });
      return messagingClient(cluster, SERVER, () => app.close());
    },
  };
}
