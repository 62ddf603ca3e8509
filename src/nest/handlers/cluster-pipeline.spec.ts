import {
  type ArgumentsHost,
  Catch,
  type CallHandler,
  ConflictException,
  GoneException,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  Injectable,
  type INestApplication,
  type NestInterceptor,
  NotFoundException,
  type Provider,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { IsInt, IsString, Min } from 'class-validator';
import { type Observable, of, tap, throwError } from 'rxjs';
import type { MessageContext } from '../../core/index.js';
import { twoNestNodes } from '../../../test/support/nest-nodes.js';
import { ClusterService } from '../cluster.service.js';
import {
  ClusterHandler,
  GEN_CLUSTER_CONTEXT_TYPE,
  type GenClusterContextType,
  Payload,
} from '../index.js';

/** Two nodes on one network; `b` serves `providers`, `setup` runs on each app before init. */
const twoNodes = (
  providers: Provider[],
  setup?: (app: INestApplication) => void,
): Promise<INestApplication[]> => twoNestNodes(providers, { setup });

/** What the caller's rejection says: status and body, from a RemoteHttpException or RemoteError. */
async function failureOf(
  call: Promise<unknown>,
): Promise<{ status: unknown; response: unknown; name: string }> {
  const error = (await call.then(
    () => {
      throw new Error('the request was answered');
    },
    (e: unknown) => e,
  )) as {
    getStatus?: () => number;
    getResponse?: () => unknown;
    status?: number;
    response?: unknown;
    name: string;
  };
  return {
    status: error.getStatus?.() ?? error.status,
    response: error.getResponse?.() ?? error.response,
    name: error.name,
  };
}

class CreateOrder {
  @IsString() sku!: string;
  @IsInt() @Min(1) quantity!: number;
}

@Injectable()
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Injectable()
class Orders {
  calls = 0;

  @ClusterHandler('orders.guarded')
  @UseGuards(DenyGuard)
  guarded() {
    this.calls++;
    return 'reached';
  }

  @ClusterHandler('orders.create')
  @UsePipes(new ValidationPipe())
  create(@Payload() order: CreateOrder) {
    this.calls++;
    return { ok: true, isDto: order instanceof CreateOrder, quantity: order.quantity };
  }

  @ClusterHandler('orders.plain')
  plain(@Payload() order: CreateOrder) {
    this.calls++;
    return { ok: true, quantity: order.quantity };
  }

  @ClusterHandler('orders.missing')
  missing(): never {
    this.calls++;
    throw new NotFoundException('no such order');
  }
}

describe('Nest pipeline on cluster handlers', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('answers 403 when @UseGuards refuses, without calling the handler', async () => {
    apps = await twoNodes([Orders]);
    const failure = await failureOf(
      apps[0].get(ClusterService).request('b@test', 'orders.guarded', {}),
    );
    expect(failure.status).toBe(403);
    expect(failure.response).toMatchObject({ statusCode: 403, message: 'Forbidden resource' });
    expect(apps[1].get(Orders).calls).toBe(0);
  });

  it('answers 400 with the messages when ValidationPipe refuses a DTO, without calling the handler', async () => {
    apps = await twoNodes([Orders]);
    const a = apps[0].get(ClusterService);
    const failure = await failureOf(a.request('b@test', 'orders.create', { sku: 7, quantity: 0 }));
    expect(failure.status).toBe(400);
    expect(failure.response).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.arrayContaining([
        'sku must be a string',
        'quantity must not be less than 1',
      ]) as unknown,
    });
    expect(apps[1].get(Orders).calls).toBe(0);
    await expect(a.request('b@test', 'orders.create', { sku: 'x', quantity: 2 })).resolves.toEqual({
      ok: true,
      isDto: false,
      quantity: 2,
    });
    expect(apps[1].get(Orders).calls).toBe(1);
  });

  it('applies app.useGlobalPipes() to cluster handlers', async () => {
    apps = await twoNodes([Orders], app => app.useGlobalPipes(new ValidationPipe()));
    const a = apps[0].get(ClusterService);
    const failure = await failureOf(
      a.request('b@test', 'orders.plain', { sku: 'x', quantity: -1 }),
    );
    expect(failure.status).toBe(400);
    expect(apps[1].get(Orders).calls).toBe(0);
  });

  it('applies an APP_PIPE provider to cluster handlers', async () => {
    apps = await twoNodes([
      Orders,
      { provide: APP_PIPE, useValue: new ValidationPipe({ transform: true }) },
    ]);
    const a = apps[0].get(ClusterService);
    await expect(
      failureOf(a.request('b@test', 'orders.plain', { quantity: 1 })),
    ).resolves.toMatchObject({
      status: 400,
    });
    await expect(a.request('b@test', 'orders.plain', { sku: 's', quantity: 3 })).resolves.toEqual({
      ok: true,
      quantity: 3,
    });
  });
});

/** Records what every call through it saw. */
@Injectable()
class Recorder implements NestInterceptor {
  static seen: { type: string; data: unknown; context: unknown; after: unknown }[] = [];
  intercept(context: ExecutionContext, next: CallHandler) {
    const rpc = context.switchToRpc();
    return next.handle().pipe(
      tap(after =>
        Recorder.seen.push({
          type: context.getType(),
          data: rpc.getData(),
          context: rpc.getContext(),
          after,
        }),
      ),
    );
  }
}

@Catch(NotFoundException)
class NotFoundToValue implements ExceptionFilter {
  catch(exception: NotFoundException, host: ArgumentsHost) {
    return { filtered: exception.message, type: host.getType() };
  }
}

/** Answers a conflict with an Observable value, and a gone with an Observable error. */
@Catch(ConflictException, GoneException)
class ObservableFilter implements ExceptionFilter {
  catch(exception: Error): Observable<unknown> {
    return exception instanceof ConflictException
      ? of('first', 'recovered by the filter')
      : throwError(() => new NotFoundException('still gone'));
  }
}

@Injectable()
class Intercepted {
  @ClusterHandler('obs.values')
  values(): Observable<number> {
    return of(1, 2, 3);
  }

  @ClusterHandler('obs.recovered')
  @UseFilters(ObservableFilter)
  recovered(): never {
    throw new ConflictException();
  }

  @ClusterHandler('obs.failed')
  @UseFilters(ObservableFilter)
  failed(): never {
    throw new GoneException();
  }

  @ClusterHandler('icp.echo')
  @UseInterceptors(Recorder)
  echo(@Payload() payload: unknown) {
    return { echoed: payload };
  }

  @ClusterHandler('icp.filtered')
  @UseFilters(NotFoundToValue)
  filtered(): never {
    throw new NotFoundException('gone');
  }

  @ClusterHandler('icp.unfiltered')
  unfiltered(): never {
    throw new NotFoundException('gone');
  }
}

describe('Nest interceptors and filters on cluster handlers', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
    Recorder.seen = [];
  });

  it("shows an interceptor getType() === 'gen-cluster', the payload and the context", async () => {
    apps = await twoNodes([Intercepted]);
    await apps[0].get(ClusterService).request('b@test', 'icp.echo', { n: 1 });
    expect(Recorder.seen).toEqual([
      {
        type: GEN_CLUSTER_CONTEXT_TYPE,
        data: { n: 1 },
        context: expect.objectContaining({
          from: 'a@test',
          topic: 'icp.echo',
          kind: 'request',
        }) as unknown,
        after: { echoed: { n: 1 } },
      },
    ]);
  });

  it('lets @UseFilters change the answer', async () => {
    apps = await twoNodes([Intercepted]);
    const a = apps[0].get(ClusterService);
    await expect(a.request('b@test', 'icp.filtered', {})).resolves.toEqual({
      filtered: 'gone',
      type: 'gen-cluster',
    });
    await expect(failureOf(a.request('b@test', 'icp.unfiltered', {}))).resolves.toMatchObject({
      status: 404,
      response: { statusCode: 404, message: 'gone', error: 'Not Found' },
    });
  });

  it("answers with an Observable's last value, the handler's or an exception filter's", async () => {
    apps = await twoNodes([Intercepted]);
    const a = apps[0].get(ClusterService);
    await expect(a.request('b@test', 'obs.values', {})).resolves.toBe(3);
    await expect(a.request('b@test', 'obs.recovered', {})).resolves.toBe('recovered by the filter');
    await expect(failureOf(a.request('b@test', 'obs.failed', {}))).resolves.toMatchObject({
      status: 404,
      response: { statusCode: 404, message: 'still gone' },
    });
  });

  it('applies APP_INTERCEPTOR and APP_FILTER providers', async () => {
    apps = await twoNodes([
      Orders,
      { provide: APP_INTERCEPTOR, useClass: Recorder },
      { provide: APP_FILTER, useClass: NotFoundToValue },
    ]);
    const a = apps[0].get(ClusterService);
    await expect(a.request('b@test', 'orders.missing', {})).resolves.toEqual({
      filtered: 'no such order',
      type: 'gen-cluster',
    });
    await a.request('b@test', 'orders.plain', { sku: 's', quantity: 1 });
    expect(Recorder.seen.map(s => s.type)).toEqual(['gen-cluster']);
  });
});

/** An app-wide guard written for HTTP only: it reads a header, so cluster messages fail it. */
@Injectable()
class NaiveHttpGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<{ headers?: Record<string, string> } | undefined>();
    return request?.headers?.authorization === 'Bearer ok';
  }
}

/** The documented recipe: cluster messages pass (or are authorized by their sending node). */
@Injectable()
class ClusterAwareGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType<GenClusterContextType>() === GEN_CLUSTER_CONTEXT_TYPE) {
      const { from } = context.switchToRpc().getContext<MessageContext>();
      return from.endsWith('@test');
    }
    return new NaiveHttpGuard().canActivate(context);
  }
}

describe('app-wide guards and cluster handlers', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('lets cluster messages through an APP_GUARD that checks getType()', async () => {
    apps = await twoNodes([Orders, { provide: APP_GUARD, useClass: ClusterAwareGuard }]);
    await expect(
      apps[0].get(ClusterService).request('b@test', 'orders.plain', { sku: 's', quantity: 1 }),
    ).resolves.toEqual({ ok: true, quantity: 1 });
  });

  it('refuses cluster messages with 403 through a naive APP_GUARD', async () => {
    apps = await twoNodes([Orders, { provide: APP_GUARD, useClass: NaiveHttpGuard }]);
    const failure = await failureOf(
      apps[0].get(ClusterService).request('b@test', 'orders.plain', { sku: 's', quantity: 1 }),
    );
    expect(failure.status).toBe(403);
    expect(apps[1].get(Orders).calls).toBe(0);
  });
});
