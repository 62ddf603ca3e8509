// This library as a transport for @nestjs/microservices (issue 14): the server is a hybrid Nest
// app serving the bench controller of nest.mjs, unchanged, through GenClusterTransport
// (`app.connectMicroservice({ strategy: createGenClusterTransport(app) })`), beside
// GenClusterModule.forRoot({ discovery: static, dist: tcp }) with the defaults of ours-nest.mjs;
// the client is another Nest application context whose GenClusterClientProxy sends
// `send('echo', payload)` (round-robin over the servers of the pattern: one here). Imported from
// the build (dist/src, or BENCH_DIST).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { distUrl } from '../common.mjs';
import { benchController, proxyClient } from './nest.mjs';
import { COOKIE } from './ours.mjs';

const lib = await import(distUrl('index.js'));
const ms = await import(distUrl('microservices', 'index.js')).catch(error => {
  throw new Error(
    `the build in ${distUrl()} has no microservices entry (run "npm run build", or leave ours-ms out with --stacks): ${error.message}`,
  );
});
const { ClusterService, GenClusterModule } = lib;

const SERVER = 'srv@127.0.0.1';

/** The cluster module of one node, as ours-nest.mjs configures it. */
const clusterModule = (name, peers) =>
  GenClusterModule.forRoot({
    node: name,
    useEnv: false,
    logLevel: 'warn',
    discovery: { strategy: 'static', nodes: peers },
    dist: { strategy: 'tcp', cookie: COOKIE, port: 0, portMapper: false },
  });

export async function serve() {
  class BenchModule {}
  Module({ imports: [clusterModule(SERVER, [])], controllers: [benchController()] })(BenchModule);
  const app = await NestFactory.create(BenchModule, { logger: ['warn', 'error'] });
  app.connectMicroservice(
    { strategy: ms.createGenClusterTransport(app) },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  await app.init(); // no HTTP listener: the cluster is the only transport measured
  const cluster = app.get(ClusterService);
  return { port: cluster.engine.strategies.dist.port, node: cluster.self };
}

export async function connect({ port }) {
  class ClientModule {}
  Module({ imports: [clusterModule('cli@127.0.0.1', [`${SERVER}:${port}`])] })(ClientModule);
  const app = await NestFactory.createApplicationContext(ClientModule, {
    logger: ['warn', 'error'],
  });
  const cluster = app.get(ClusterService);
  await cluster.waitForMembers(1, { timeoutMs: 15_000 });
  for (const pattern of ['echo', 'count'])
    await cluster.waitForServers(ms.patternTopic(pattern), { count: 1, timeoutMs: 15_000 });
  const proxy = new ms.GenClusterClientProxy({ cluster });
  await proxy.connect();
  return proxyClient(proxy, async () => {
    await proxy.close();
    await app.close();
  });
}
