import { Injectable, Module, Scope, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import 'reflect-metadata';
import { ClusterService, GenClusterModule } from '../index.js';
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
