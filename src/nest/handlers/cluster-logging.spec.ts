import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  Injectable,
  type INestApplication,
  InternalServerErrorException,
  type LoggerService,
  NotFoundException,
  type Provider,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { twoNestNodes } from '../../../test/support/nest-nodes.js';
import { ClusterService } from '../cluster.service.js';
import { ClusterContext, ClusterHandler, OnClusterMessage, Payload } from '../index.js';

interface Line {
  readonly level: string;
  readonly context: string | undefined;
  readonly message: string;
}

/** Nest's logger for the apps of a test: keeps every line with its level and context. */
class CapturingLogger implements LoggerService {
  readonly lines: Line[] = [];
  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.add('verbose', message, rest);
  }
  /** Lines at `level`, of the library (`GenCluster:*`) or of Nest's `ExceptionsHandler`. */
  at(level: string, source: 'library' | 'nest'): Line[] {
    return this.lines.filter(
      line =>
        line.level === level &&
        (source === 'library'
          ? (line.context?.startsWith('GenCluster:') ?? false)
          : line.context === 'ExceptionsHandler'),
    );
  }
  private add(level: string, message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 ? rest[rest.length - 1] : undefined;
    this.lines.push({
      level,
      context: typeof context === 'string' ? context : undefined,
      message: message instanceof Error ? `${message.name}: ${message.message}` : String(message),
    });
  }
}

/** Two nodes whose Nest logs go to `logger`, the library's down to debug. */
const twoNodes = (
  providers: Provider[],
  logger: CapturingLogger,
  setup?: (app: INestApplication) => void,
): Promise<INestApplication[]> => twoNestNodes(providers, { logger, logLevel: 'debug', setup });

@Injectable()
class Failing {
  @ClusterHandler('fail.notFound')
  notFound(): never {
    throw new NotFoundException('no such thing');
  }

  @ClusterHandler('fail.internal')
  internal(): never {
    throw new InternalServerErrorException('database down');
  }

  @ClusterHandler('fail.plain')
  plain(): never {
    throw new Error('plain failure');
  }
}

/** An app-wide filter written for HTTP only: on cluster traffic `status` is not a function. */
@Catch()
class HttpOnlyFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<{ status(code: number): unknown }>();
    response.status(500);
  }
}

/** Catches only NotFoundException: a plain Error passes it by, to Nest's own handler. */
@Catch(NotFoundException)
class NotFoundOnly implements ExceptionFilter {
  catch(): string {
    return 'not found, filtered';
  }
}

describe('a failing cluster handler is logged once', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('logs a 404 at debug only', async () => {
    const logger = new CapturingLogger();
    apps = await twoNodes([Failing], logger);
    await expect(
      apps[0].get(ClusterService).request('b@test', 'fail.notFound', {}),
    ).rejects.toThrow('no such thing');
    expect(logger.lines.filter(line => line.level === 'error')).toEqual([]);
    const debug = logger
      .at('debug', 'library')
      .filter(line => line.message.includes('fail.notFound'));
    expect(debug).toHaveLength(1);
  });

  it('logs an InternalServerErrorException once, at error, by the library', async () => {
    const logger = new CapturingLogger();
    apps = await twoNodes([Failing], logger);
    await expect(
      apps[0].get(ClusterService).request('b@test', 'fail.internal', {}),
    ).rejects.toThrow('database down');
    const errors = logger.lines.filter(line => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].context).toBe('GenCluster:default');
    expect(errors[0].message).toContain('fail.internal');
  });

  it("logs a plain Error once, at error, by Nest's ExceptionsHandler and not by the library", async () => {
    const logger = new CapturingLogger();
    apps = await twoNodes([Failing], logger);
    await expect(apps[0].get(ClusterService).request('b@test', 'fail.plain', {})).rejects.toThrow(
      'plain failure',
    );
    const errors = logger.lines.filter(line => line.level === 'error');
    expect(errors).toEqual([
      { level: 'error', context: 'ExceptionsHandler', message: 'Error: plain failure' },
    ]);
    expect(
      logger.at('debug', 'library').filter(line => line.message.includes('plain failure')),
    ).toHaveLength(1);
  });
});

describe('a failure of an exception filter is logged once', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('logs at error, by the library, what a catch-all filter threw (Nest logs nothing then)', async () => {
    const logger = new CapturingLogger();
    apps = await twoNodes([Failing, { provide: APP_FILTER, useClass: HttpOnlyFilter }], logger);
    await expect(
      apps[0].get(ClusterService).request('b@test', 'fail.notFound', {}),
    ).rejects.toMatchObject({ code: 'ERR_REMOTE_HANDLER', remoteName: 'TypeError' });
    const errors = logger.lines.filter(line => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].context).toBe('GenCluster:default');
    expect(errors[0].message).toContain('fail.notFound');
  });

  it("leaves a plain Error that a filter does not catch to Nest's ExceptionsHandler", async () => {
    const logger = new CapturingLogger();
    apps = await twoNodes([Failing], logger, app => app.useGlobalFilters(new NotFoundOnly()));
    await expect(apps[0].get(ClusterService).request('b@test', 'fail.notFound', {})).resolves.toBe(
      'not found, filtered',
    );
    await expect(apps[0].get(ClusterService).request('b@test', 'fail.plain', {})).rejects.toThrow(
      'plain failure',
    );
    expect(logger.lines.filter(line => line.level === 'error')).toEqual([
      { level: 'error', context: 'ExceptionsHandler', message: 'Error: plain failure' },
    ]);
  });
});

@Injectable()
@UsePipes(new ValidationPipe())
class PipesWithoutPayload {
  @ClusterHandler('warn.first')
  @ClusterHandler('warn.second')
  unvalidated(payload: unknown) {
    return payload;
  }

  @ClusterHandler('warn.contextOnly')
  contextOnly(payload: unknown, @ClusterContext() context: unknown) {
    return [payload, context];
  }

  @OnClusterMessage('warn.validated')
  validated(@Payload() payload: unknown) {
    return payload;
  }
}

@Injectable()
class NoPipes {
  @ClusterHandler('nopipes')
  handle(payload: unknown) {
    return payload;
  }
}

/** The warnings about pipes that cannot run, one line per method. */
function pipeWarnings(logger: CapturingLogger): string[] {
  return logger
    .at('warn', 'library')
    .map(line => line.message)
    .filter(message => message.includes('with pipes but no @Payload() parameter'));
}

describe('pipes without a @Payload() parameter', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('warns once per method at bootstrap when @UsePipes applies but no parameter has @Payload()', async () => {
    const logger = new CapturingLogger();
    apps = await twoNodes([PipesWithoutPayload, NoPipes], logger);
    expect(pipeWarnings(logger).sort()).toEqual([
      'PipesWithoutPayload.contextOnly handles "warn.contextOnly" with pipes but no @Payload() parameter: Nest runs pipes only on decorated parameters, so the payload is not validated. Add @Payload() to the parameter.',
      expect.stringMatching(
        /^PipesWithoutPayload\.unvalidated handles "warn\.(first|second)" with pipes/,
      ) as unknown as string,
    ]);
  });

  it('warns for global pipes too: APP_PIPE and app.useGlobalPipes()', async () => {
    const viaProvider = new CapturingLogger();
    apps = await twoNodes(
      [NoPipes, { provide: APP_PIPE, useValue: new ValidationPipe() }],
      viaProvider,
    );
    expect(pipeWarnings(viaProvider)).toEqual([
      expect.stringContaining('NoPipes.handle handles "nopipes"') as unknown as string,
    ]);
    await Promise.all(apps.map(app => app.close()));
    const viaApp = new CapturingLogger();
    apps = await twoNodes([NoPipes], viaApp, app => app.useGlobalPipes(new ValidationPipe()));
    expect(pipeWarnings(viaApp)).toHaveLength(1);
  });

  it('does not warn when no pipe applies', async () => {
    const logger = new CapturingLogger();
    apps = await twoNodes([NoPipes], logger);
    expect(pipeWarnings(logger)).toEqual([]);
  });
});
