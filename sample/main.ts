import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

/**
 * One sample node. Configure it with the GEN_CLUSTER_* variables (see the README) plus
 * HTTP_HOST / HTTP_PORT for `GET /cluster` (default 127.0.0.1 and an ephemeral port).
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  const host = process.env.HTTP_HOST ?? '127.0.0.1';
  const port = Number(process.env.HTTP_PORT ?? 0);
  await app.listen(port, host);
  const address = app.getHttpServer().address();
  const bound = typeof address === 'object' && address ? address.port : port;
  Logger.log(`GET http://${host.includes(':') ? `[${host}]` : host}:${bound}/cluster`, 'Sample');
  // A line the test harness and the demo read to find the HTTP port.
  if (process.env.GEN_CLUSTER_SAMPLE_READY_LINE !== '0')
    console.log(`SAMPLE_READY ${JSON.stringify({ http: bound, pid: process.pid })}`);
}

main().catch(error => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
