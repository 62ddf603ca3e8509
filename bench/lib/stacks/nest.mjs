// @nestjs/microservices (devDependency, same major as @nestjs/common) TCP transport: a
// microservice with @MessagePattern('echo') / @EventPattern('sink') on 127.0.0.1, and a
// ClientTCP. Defaults otherwise (JSON socket framing). Nest has no membership or discovery, so it
// takes part in the messaging measurements only.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, EventPattern, MessagePattern, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { payloadOf } from '../common.mjs';

/**
 * The bench controller: `@MessagePattern('echo')`, `@EventPattern('sink')` and
 * `@MessagePattern('count')` (the sinks received), decorated by call. The microservices transport
 * stack (ours-ms.mjs) serves this same controller.
 */
export function benchController() {
  let received = 0;
  class BenchController {
    echo(data) {
      return data;
    }
    sink() {
      received++;
    }
    count() {
      return received;
    }
  }
  const decorate = (decorator, method) =>
    decorator(
      BenchController.prototype,
      method,
      Object.getOwnPropertyDescriptor(BenchController.prototype, method),
    );
  Controller()(BenchController);
  decorate(MessagePattern('echo'), 'echo');
  decorate(EventPattern('sink'), 'sink');
  decorate(MessagePattern('count'), 'count');
  return BenchController;
}

export async function serve({ port }) {
  const BenchController = benchController();
  class BenchModule {}
  Module({ controllers: [BenchController] })(BenchModule);
  const app = await NestFactory.createMicroservice(BenchModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
    logger: false,
  });
  await app.listen();
  return { port };
}

export async function connect({ port }) {
  const proxy = ClientProxyFactory.create({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
  });
  await proxy.connect();
  return proxyClient(proxy, () => proxy.close());
}

/**
 * The client side of a ClientProxy (`send('echo')`, a barrier on `send('count')`, `emit('sink')`);
 * `close` ends the client.
 */
export function proxyClient(proxy, close) {
  let payload = payloadOf(32);
  const client = {
    prepare(size) {
      payload = payloadOf(size);
    },
    issue(cb) {
      proxy.send('echo', payload).subscribe({ error: cb, complete: () => cb() });
    },
    barrier: () => lastValueFrom(proxy.send('count', {})),
    /** No back-pressure either: flow-controlled like Moleculer's, by a request per ~1 MiB batch. */
    async oneway(ms, maxCount, size) {
      const batch = Math.min(4096, Math.max(16, Math.floor((1024 * 1024) / size)));
      const end = performance.now() + ms;
      let sent = 0;
      const ignore = { error: () => undefined };
      while (sent < maxCount && performance.now() < end) {
        for (let i = 0; i < batch && sent < maxCount; i++, sent++)
          proxy.emit('sink', payload).subscribe(ignore);
        await client.barrier();
      }
      return sent;
    },
    close,
  };
  return client;
}
