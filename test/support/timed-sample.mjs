// The sample app (dist/sample) with test timings: the same AppModule, routes, singleton and
// GEN_CLUSTER_* environment as `node dist/sample/main.js`, but with the cluster options of
// SAMPLE_TEST_OPTIONS (JSON, e.g. {"backoff":{...},"dist":{"heartbeatMs":200,"failureTimeoutMs":1000}})
// layered over the ones the sample gives GenClusterModule.forRoot(). The environment has no
// variable for the heartbeat or the failure timeout, and tests that wait for a failure detection
// need them short. Prints the sample's ready line, `SAMPLE_READY {"http":<port>,"pid":<pid>}`.
// Run it after `npm run build`.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GenClusterModule } from '../../dist/src/index.js';
import { AppModule } from '../../dist/sample/app.module.js';

/** The token ConfigurableModuleBuilder gives the options of `GenClusterModule.forRoot()`. */
const OPTIONS_TOKEN = 'GEN_CLUSTER_MODULE_OPTIONS';

const extra = JSON.parse(process.env.SAMPLE_TEST_OPTIONS ?? '{}');
const imports = Reflect.getMetadata('imports', AppModule) ?? [];
const cluster = imports.find(entry => entry?.module === GenClusterModule);
const provider = cluster?.providers?.find(p => p?.provide === OPTIONS_TOKEN && 'useValue' in p);
if (!provider)
  throw new Error(
    `timed-sample: the sample's AppModule no longer imports GenClusterModule.forRoot() with a ` +
      `${OPTIONS_TOKEN} provider; update test/support/timed-sample.mjs`,
  );
const given = provider.useValue ?? {};
provider.useValue = {
  ...given,
  ...extra,
  ...(extra.dist ? { dist: { strategy: 'tcp', ...given.dist, ...extra.dist } } : {}),
};

const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
app.enableShutdownHooks();
const host = process.env.HTTP_HOST ?? '127.0.0.1';
await app.listen(Number(process.env.HTTP_PORT ?? 0), host);
const address = app.getHttpServer().address();
const port = typeof address === 'object' && address ? address.port : 0;
Logger.log(`GET http://${host}:${port}/cluster`, 'Sample');
console.log(`SAMPLE_READY ${JSON.stringify({ http: port, pid: process.pid })}`);
