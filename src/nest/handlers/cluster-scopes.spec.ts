import {
  type CanActivate,
  Inject,
  Injectable,
  type INestApplication,
  type LoggerService,
  Module,
  type Provider,
  Scope,
  UseGuards,
} from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { ClusterEvent } from '../../core/index.js';
import { until } from '../../../test/support/wait.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../../testing/index.js';
import { ClusterService } from '../cluster.service.js';
import {
  ClusterHandler,
  type ClusterEventRequest,
  type ClusterRequest,
  OnClusterMessage,
  OnNodeUp,
  Payload,
} from '../index.js';

/** Nodes `a` (caller) and `b` (serving `imports` and `providers`) on one network. */
async function twoNodes(
  providers: Provider[],
  imports: unknown[] = [],
  logger: LoggerService | false = false,
): Promise<INestApplication[]> {
  const network = new InMemoryNetwork();
  const apps: INestApplication[] = [];
  for (const node of ['a@test', 'b@test']) {
    const serving = node === 'b@test';
    const moduleRef = await Test.createTestingModule({
      imports: [
        GenClusterTestingModule.forRoot({ network, node }),
        ...((serving ? imports : []) as []),
      ],
      providers: serving ? providers : [],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    apps.push(app);
    await app.init();
  }
  await apps[0].get(ClusterService).waitForMembers(1, { timeoutMs: 5_000 });
  return apps;
}

let built = { static: 0, request: 0, transient: 0, dependent: 0 };

@Injectable()
class StaticHost {
  constructor() {
    built.static++;
  }
  @ClusterHandler('scope.static')
  handle() {
    return built.static;
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestHost {
  readonly id = ++built.request;
  constructor(@Inject(REQUEST) private readonly request: ClusterRequest) {}

  @ClusterHandler('scope.request')
  handle(@Payload() payload: { n: number }) {
    return {
      id: this.id,
      n: payload.n,
      requestPayload: this.request.payload,
      from: this.request.context.from,
      kind: this.request.context.kind,
    };
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientHost {
  readonly id = ++built.transient;
  @ClusterHandler('scope.transient')
  handle(payload: number) {
    return { id: this.id, payload };
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerMessage {
  constructor(@Inject(REQUEST) readonly request: ClusterRequest) {}
}

/** A default-scoped class that depends on a request-scoped one: per message as well. */
@Injectable()
class DependentHost {
  readonly id = ++built.dependent;
  constructor(private readonly perMessage: PerMessage) {}
  @ClusterHandler('scope.dependent')
  handle() {
    return { id: this.id, payload: this.perMessage.request.payload };
  }
}

@Injectable()
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Injectable({ scope: Scope.REQUEST })
class GuardedRequestHost {
  static calls = 0;
  @ClusterHandler('scope.guarded')
  @UseGuards(DenyGuard)
  handle() {
    GuardedRequestHost.calls++;
    return 'reached';
  }
}

@Injectable({ scope: Scope.REQUEST })
class UnbuildableHost {
  constructor() {
    throw new Error('cannot build per message');
  }
  @ClusterHandler('scope.unbuildable')
  handle() {
    return 'never';
  }
}

describe('provider scopes of cluster handlers', () => {
  let apps: INestApplication[] = [];
  beforeEach(() => {
    built = { static: 0, request: 0, transient: 0, dependent: 0 };
  });
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('builds a static host once for every message', async () => {
    apps = await twoNodes([StaticHost]);
    const a = apps[0].get(ClusterService);
    for (let i = 0; i < 3; i++)
      await expect(a.request('b@test', 'scope.static', i)).resolves.toBe(1);
    expect(built.static).toBe(1);
  });

  it('builds a request-scoped host per message, with REQUEST as { payload, context }', async () => {
    apps = await twoNodes([RequestHost]);
    const a = apps[0].get(ClusterService);
    const first = await a.request<{ id: number }>('b@test', 'scope.request', { n: 1 });
    const second = await a.request<{ id: number }>('b@test', 'scope.request', { n: 2 });
    expect(first).toEqual({
      id: first.id,
      n: 1,
      requestPayload: { n: 1 },
      from: 'a@test',
      kind: 'request',
    });
    expect(second).toMatchObject({ n: 2, requestPayload: { n: 2 } });
    expect(second.id).not.toBe(first.id);
  });

  it('builds a transient host per message', async () => {
    apps = await twoNodes([TransientHost]);
    const a = apps[0].get(ClusterService);
    const first = await a.request<{ id: number }>('b@test', 'scope.transient', 1);
    const second = await a.request<{ id: number }>('b@test', 'scope.transient', 2);
    expect(first.id).not.toBe(second.id);
    expect(second).toMatchObject({ payload: 2 });
  });

  it('builds a default-scoped host that depends on a request-scoped provider per message', async () => {
    apps = await twoNodes([DependentHost, PerMessage]);
    const a = apps[0].get(ClusterService);
    const first = await a.request<{ id: number }>('b@test', 'scope.dependent', 'one');
    const second = await a.request<{ id: number }>('b@test', 'scope.dependent', 'two');
    expect(first).toMatchObject({ payload: 'one' });
    expect(second).toMatchObject({ payload: 'two' });
    expect(second.id).not.toBe(first.id);
  });

  it('answers with the error and logs it at error when a request-scoped host cannot be built', async () => {
    const errors: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      warn: () => undefined,
      error: (message: unknown) => void errors.push(String(message)),
    };
    apps = await twoNodes([UnbuildableHost], [], logger);
    await expect(
      apps[0].get(ClusterService).request('b@test', 'scope.unbuildable', {}),
    ).rejects.toMatchObject({
      code: 'ERR_REMOTE_HANDLER',
      remoteMessage: 'cannot build per message',
    });
    // Nest's pipeline never saw it, so the library logs it (once)
    expect(errors.filter(line => line.includes('cannot build per message'))).toHaveLength(1);
  });

  it('runs the pipeline for a request-scoped host: a refusing guard gives 403', async () => {
    GuardedRequestHost.calls = 0;
    apps = await twoNodes([GuardedRequestHost]);
    const error = (await apps[0]
      .get(ClusterService)
      .request('b@test', 'scope.guarded', {})
      .catch((e: unknown) => e)) as { getStatus?: () => number; status?: number };
    expect(error.getStatus?.() ?? error.status).toBe(403);
    expect(GuardedRequestHost.calls).toBe(0);
  });
});

const LABEL = 'LABEL';
const received: string[] = [];

@Injectable({ scope: Scope.REQUEST })
class LabelledSubscriber {
  constructor(@Inject(LABEL) private readonly label: string) {}
  @OnClusterMessage('scope.labels')
  receive(@Payload() payload: string) {
    received.push(`${this.label}:${payload}`);
  }
}

@Module({ providers: [LabelledSubscriber, { provide: LABEL, useValue: 'first' }] })
class FirstModule {}

@Module({ providers: [LabelledSubscriber, { provide: LABEL, useValue: 'second' }] })
class SecondModule {}

const upEvents: unknown[] = [];

@Injectable({ scope: Scope.REQUEST })
class ScopedNodeWatcher {
  constructor(@Inject(REQUEST) private readonly request: ClusterEventRequest<ClusterEvent>) {}
  @OnNodeUp()
  up(event: ClusterEvent) {
    upEvents.push({ event, request: this.request.event });
  }
}

describe('request-scoped subscribers and listeners', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('resolves a request-scoped host in its own module when two modules provide its class', async () => {
    received.length = 0;
    apps = await twoNodes([], [FirstModule, SecondModule]);
    apps[0].get(ClusterService).broadcast('scope.labels', 'hello');
    await until(() => received.length === 2, 5_000, 'both subscribers');
    expect(received.sort()).toEqual(['first:hello', 'second:hello']);
  });

  it('calls a request-scoped node-event listener with REQUEST as { event }', async () => {
    upEvents.length = 0;
    apps = await twoNodes([ScopedNodeWatcher]);
    await until(() => upEvents.length === 1, 5_000, 'nodeUp on b');
    expect(upEvents[0]).toEqual({
      event: expect.objectContaining({ type: 'nodeUp', node: 'a@test' }) as unknown,
      request: expect.objectContaining({ type: 'nodeUp', node: 'a@test' }) as unknown,
    });
  });
});
