import { Injectable, type LoggerService, Module, Scope, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import 'reflect-metadata';
import { twoNestNodes } from '../../../test/support/nest-nodes.js';
import { type ClusterLeadership, ClusterService, GenClusterModule } from '../index.js';
import {
  ClusterSingleton,
  type OnSingletonStart,
  type OnSingletonStop,
} from './cluster-singleton.decorator.js';
import { until } from '../../../test/support/wait.js';

const MARK =
  (value: string): MethodDecorator =>
  (_target, _key, descriptor) => {
    Reflect.defineMetadata('test:mark', value, descriptor.value as object);
  };

/** Nest's logger for a test's apps: keeps each debug line of the library (`GenCluster:*`). */
class DebugLines implements LoggerService {
  readonly lines: string[] = [];
  log(): void {}
  error(): void {}
  warn(): void {}
  debug(message: unknown, context?: unknown): void {
    if (typeof context === 'string' && context.startsWith('GenCluster:'))
      this.lines.push(String(message));
  }
}

/** `values` without consecutive repeats. */
const changes = <T>(values: readonly T[]): T[] =>
  values.filter((value, i) => i === 0 || value !== values[i - 1]);

/** An app with an idle cluster (no discovery): a cluster of one, which leads at once. */
async function idleApp(providers: Provider[], options: { name?: string } = {}) {
  @Module({ providers })
  class Feature {}
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterModule.forRoot({ useEnv: false, ...options }), Feature],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  return app;
}

describe('@ClusterSingleton', () => {
  describe('on a method', () => {
    it('keeps the metadata of decorators written below it and above it on the gate', () => {
      class Jobs {
        @MARK('above')
        @ClusterSingleton()
        above(): string {
          return 'ran';
        }

        @ClusterSingleton()
        @MARK('below')
        below(): string {
          return 'ran';
        }
      }
      expect(Reflect.getMetadata('test:mark', Jobs.prototype.above)).toBe('above');
      expect(Reflect.getMetadata('test:mark', Jobs.prototype.below)).toBe('below');
      expect(Jobs.prototype.below.name).toBe('below');
    });

    it('keeps the name and the length of the method on the gate', () => {
      class Jobs {
        @ClusterSingleton()
        add(a: number, b: number): number {
          return a + b;
        }

        @ClusterSingleton()
        async later(a: number, b: number, c: number): Promise<number> {
          return Promise.resolve(a + b + c);
        }
      }
      expect(Jobs.prototype.add.name).toBe('add');
      expect(Jobs.prototype.add.length).toBe(2);
      expect(Jobs.prototype.later.name).toBe('later');
      expect(Jobs.prototype.later.length).toBe(3);
    });

    it('returns a promise of undefined, without running, from an async method or one declared to return a Promise', async () => {
      let calls = 0;
      class Jobs {
        @ClusterSingleton()
        async run(): Promise<string> {
          calls++;
          return Promise.resolve('ran');
        }

        @ClusterSingleton()
        declared(): Promise<string> {
          calls++;
          return Promise.resolve('ran');
        }

        @ClusterSingleton()
        sync(): string {
          calls++;
          return 'ran';
        }
      }
      const jobs = new Jobs();
      const run: unknown = jobs.run();
      const declared: unknown = jobs.declared();
      expect(run).toBeInstanceOf(Promise);
      expect(declared).toBeInstanceOf(Promise);
      await expect(jobs.run().then(value => `then: ${value}`)).resolves.toBe('then: undefined');
      await expect(declared).resolves.toBeUndefined();
      expect(jobs.sync()).toBeUndefined();
      expect(calls).toBe(0);
    });

    it('returns a promise of undefined from an async method without design:returntype (no emitDecoratorMetadata)', async () => {
      let calls = 0;
      class Jobs {
        async run(): Promise<string> {
          calls++;
          return Promise.resolve('ran');
        }
      }
      // applied by hand, as a build without decorator metadata (JavaScript, esbuild) applies it
      const descriptor = Object.getOwnPropertyDescriptor(Jobs.prototype, 'run');
      expect(Reflect.getMetadata('design:returntype', Jobs.prototype, 'run')).toBeUndefined();
      const gated = (ClusterSingleton() as MethodDecorator)(Jobs.prototype, 'run', descriptor!);
      Object.defineProperty(Jobs.prototype, 'run', gated as PropertyDescriptor);
      const result: unknown = new Jobs().run();
      expect(result).toBeInstanceOf(Promise);
      await expect(result).resolves.toBeUndefined();
      expect(calls).toBe(0);
    });

    it('on a node that does not lead: resolves undefined for an async method, logs each change of reason once with the name, and runs once this node leads', async () => {
      const logger = new DebugLines();
      @Injectable()
      class Jobs {
        runs = 0;

        @ClusterSingleton('report')
        async run(label: string): Promise<string> {
          this.runs++;
          return Promise.resolve(`${label} ran`);
        }

        @ClusterSingleton()
        tick(): string {
          this.runs++;
          return 'ticked';
        }
      }
      // a@test starts first, so it leads; b@test serves Jobs
      const [a, b] = await twoNestNodes([Jobs], { logger, logLevel: 'debug' });
      const open = [a, b];
      try {
        const cluster = b.get(ClusterService);
        const jobs = b.get(Jobs);
        const reasons: (string | undefined)[] = [];
        await until(
          async () => {
            reasons.push(cluster.leadership.whyNot());
            await expect(jobs.run('b').then(value => value ?? 'skipped')).resolves.toBe('skipped');
            expect(jobs.tick()).toBeUndefined();
            return cluster.leadership.leader() === 'a@test' && reasons.length >= 3;
          },
          5_000,
          'b@test sees a@test lead',
        );
        expect(jobs.runs).toBe(0);
        expect(changes(reasons).at(-1)).toBe('otherLeader');
        expect(logger.lines.filter(line => line.startsWith('singleton report '))).toEqual(
          changes(reasons).map(reason => `singleton report skipped on b@test: ${reason}`),
        );
        expect(logger.lines.filter(line => line.startsWith('singleton Jobs.tick '))).toEqual(
          changes(reasons).map(reason => `singleton Jobs.tick skipped on b@test: ${reason}`),
        );

        await open.shift()?.close(); // a@test abdicates: b@test leads
        await until(() => cluster.isLeader(), 5_000, 'b@test leads');
        await expect(jobs.run('b')).resolves.toBe('b ran');
        expect(jobs.runs).toBe(1);
      } finally {
        for (const app of open) await app.close();
      }
    });

    it('returns undefined without running the method before its instance is bound to a cluster', () => {
      let calls = 0;
      class Jobs {
        @ClusterSingleton()
        run(): string {
          calls++;
          return 'ran';
        }
      }
      expect(new Jobs().run()).toBeUndefined();
      expect(calls).toBe(0);
    });

    it('runs the method of a provider on the leader (an idle cluster leads alone) and passes arguments', async () => {
      @Injectable()
      class Jobs {
        @ClusterSingleton()
        add(a: number, b: number): number {
          return a + b;
        }
      }
      const app = await idleApp([Jobs]);
      await app.init();
      try {
        await until(() => app.get(ClusterService).isLeader(), 5_000, 'the idle node leads');
        expect(app.get(Jobs).add(2, 3)).toBe(5);
      } finally {
        await app.close();
      }
      // closed: the gate no longer lets calls through
      expect(app.get(Jobs).add(2, 3)).toBeUndefined();
    });

    it('types ClusterService.leadership without start() and close(), which the module owns (checked by tsc)', async () => {
      const app = await idleApp([]);
      await app.init();
      try {
        const leadership: ClusterLeadership = app.get(ClusterService).leadership;
        const misuse = (view: ClusterService['leadership']): void => {
          // @ts-expect-error closing leadership while the cluster runs is not the application's call
          void view.close();
          // @ts-expect-error the module starts it with the cluster
          view.start();
        };
        expect(misuse).toBeInstanceOf(Function);
        await until(() => leadership.isLeader(), 5_000, 'the idle node leads');
        expect([leadership.leader(), leadership.isLeader(), leadership.whyNot()]).toEqual([
          app.get(ClusterService).self,
          true,
          undefined,
        ]);
      } finally {
        await app.close();
      }
    });

    it('refuses a static method', () => {
      expect(() => {
        class Jobs {
          @ClusterSingleton()
          static run(): void {}
        }
        return Jobs;
      }).toThrow(/@ClusterSingleton\(\) on Jobs\.run: put it on an instance method/);
    });
  });

  describe('on a class', () => {
    it('starts the provider on the leader and stops it on shutdown', async () => {
      const seen: string[] = [];
      @Injectable()
      @ClusterSingleton()
      class Reporter implements OnSingletonStart, OnSingletonStop {
        onSingletonStart(): void {
          seen.push('start');
        }
        onSingletonStop(): void {
          seen.push('stop');
        }
      }
      const app = await idleApp([Reporter]);
      await app.init();
      await until(() => seen.length === 1, 5_000, 'the singleton started');
      expect(app.get(ClusterService).leadership.singleton).toBeDefined();
      await app.close();
      expect(seen).toEqual(['start', 'stop']);
    });

    it.each([
      ['request-scoped', Scope.REQUEST],
      ['transient', Scope.TRANSIENT],
    ])('refuses a %s provider at bootstrap, naming it', async (_what, scope) => {
      @Injectable({ scope })
      @ClusterSingleton()
      class Scoped implements OnSingletonStart {
        onSingletonStart(): void {}
      }
      const app = await idleApp([Scoped]);
      await expect(app.init()).rejects.toThrow(
        /@ClusterSingleton\(\) on Scoped: the provider is request-scoped or transient/,
      );
      await app.close();
    });

    it('refuses a gated method of a request-scoped provider', async () => {
      @Injectable({ scope: Scope.REQUEST })
      class ScopedJobs {
        @ClusterSingleton()
        run(): void {}
      }
      const app = await idleApp([ScopedJobs]);
      await expect(app.init()).rejects.toThrow(/@ClusterSingleton\(\) on ScopedJobs\.run/);
      await app.close();
    });

    it('refuses a class without onSingletonStart', async () => {
      @Injectable()
      @ClusterSingleton()
      class NoStart {}
      const app = await idleApp([NoStart]);
      await expect(app.init()).rejects.toThrow(
        /on class NoStart: the class has no onSingletonStart/,
      );
      await app.close();
    });

    it('refuses two classes with one name, naming both', async () => {
      @Injectable()
      @ClusterSingleton('jobs')
      class First implements OnSingletonStart {
        onSingletonStart(): void {}
      }
      @Injectable()
      @ClusterSingleton('jobs')
      class Second implements OnSingletonStart {
        onSingletonStart(): void {}
      }
      const app = await idleApp([First, Second]);
      await expect(app.init()).rejects.toThrow(
        /Singleton "jobs" of cluster "default" is declared twice: by First and by Second/,
      );
      await app.close();
    });

    it('refuses a cluster that is not configured', async () => {
      @Injectable()
      @ClusterSingleton({ cluster: 'other' })
      class Elsewhere implements OnSingletonStart {
        onSingletonStart(): void {}
      }
      const app = await idleApp([Elsewhere]);
      await expect(app.init()).rejects.toThrow(/Elsewhere names cluster "other"/);
      await app.close();
    });
  });

  it.each([[''], [{ name: 3 }], [{ cluster: '' }], [{ nme: 'x' }], [42]])(
    'refuses the options %p when the decorator is applied',
    value => {
      expect(() => ClusterSingleton(value as never)).toThrow(/@ClusterSingleton\(\) takes a name/);
    },
  );
});
