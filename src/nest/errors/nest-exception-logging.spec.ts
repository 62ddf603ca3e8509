/**
 * Pins the Nest behaviour the logging levels of toMappedError rely on (ISSUE-13-PLAN R3): on the
 * pipeline (`ExternalContextCreator` with filters), Nest's `ExternalExceptionFilter` logs at
 * `error` every `Error` that is not an `IntrinsicException`, and nothing else. If a Nest release
 * changes that, this spec fails, and the levels need another look so that a handler failure is
 * still logged once.
 */
import {
  ForbiddenException,
  Injectable,
  InternalServerErrorException,
  IntrinsicException,
  type LoggerService,
  Module,
  NotFoundException,
} from '@nestjs/common';
import { ExternalContextCreator, NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { toMappedError } from './to-mapped-error.js';

/** Keeps every line Nest logs, with its level. */
class CapturingLogger implements LoggerService {
  readonly lines: { level: string; args: unknown[] }[] = [];
  log(...args: unknown[]) {
    this.lines.push({ level: 'log', args });
  }
  error(...args: unknown[]) {
    this.lines.push({ level: 'error', args });
  }
  warn(...args: unknown[]) {
    this.lines.push({ level: 'warn', args });
  }
  debug(...args: unknown[]) {
    this.lines.push({ level: 'debug', args });
  }
  verbose(...args: unknown[]) {
    this.lines.push({ level: 'verbose', args });
  }
  fatal(...args: unknown[]) {
    this.lines.push({ level: 'fatal', args });
  }
}

class Quiet extends IntrinsicException {}

@Injectable()
class Thrower {
  throwIt(error: unknown): never {
    throw error;
  }
}

@Module({ providers: [Thrower] })
class PinModule {}

describe("Nest's own logging of a failure on the pipeline (pinned)", () => {
  let app: INestApplicationContext;
  const logger = new CapturingLogger();
  let run: (error: unknown) => Promise<unknown>;

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(PinModule, { logger, abortOnError: false });
    const host = app.get(Thrower);
    const proxy = app
      .get(ExternalContextCreator)
      .create(
        host,
        host.throwIt as (...args: unknown[]) => unknown,
        'throwIt',
        undefined,
        undefined,
        undefined,
        undefined,
        { guards: true, interceptors: true, filters: true },
        'gen-cluster',
      );
    run = error =>
      proxy(error).then(
        () => {
          throw new Error('the proxy did not reject');
        },
        (thrown: unknown) => thrown,
      );
  });
  afterAll(() => app.close());

  // byNest: error lines Nest writes; once: error lines in all, Nest's and the library's.
  it.each([
    { name: 'NotFoundException', error: new NotFoundException('x'), byNest: 0, once: 0 },
    { name: 'ForbiddenException', error: new ForbiddenException(), byNest: 0, once: 0 },
    {
      name: 'InternalServerErrorException',
      error: new InternalServerErrorException(),
      byNest: 0,
      once: 1,
    },
    { name: 'another IntrinsicException', error: new Quiet('q'), byNest: 0, once: 0 },
    { name: 'RpcException', error: new RpcException('rpc'), byNest: 1, once: 1 },
    { name: 'TypeError', error: new TypeError('broken'), byNest: 1, once: 1 },
    { name: 'a value that is not an Error', error: 'text', byNest: 0, once: 0 },
  ])(
    '$name: Nest logs it $byNest time(s) at error; $once error line(s) with the library',
    async ({ error, byNest, once }) => {
      logger.lines.length = 0;
      // Nest rethrows what no filter handled, unchanged.
      expect(await run(error)).toBe(error);
      const nestErrors = logger.lines.filter(line => line.level === 'error');
      expect(logger.lines).toHaveLength(byNest);
      expect(nestErrors).toHaveLength(byNest);
      if (byNest) expect(nestErrors[0]!.args).toContain('ExceptionsHandler');
      // The serving node's own line is at the level toMappedError gives it: a 5xx or a bug is
      // logged at error exactly once, a 4xx or a quiet exception never.
      const libraryErrors = toMappedError(error, 'pipeline').log === 'error' ? 1 : 0;
      expect(nestErrors.length + libraryErrors).toBe(once);
    },
  );
});
