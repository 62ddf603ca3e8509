import {
  DEFAULT_GEN_CLUSTER_OPTIONS,
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  InvalidConfigError,
  MAX_TIMER_MS,
  type Peer,
} from '../../core/index.js';
import { aggregateChildren } from './aggregate-options.js';
import { AggregateDiscovery, DEFAULT_CHILD_TIMEOUT_MS } from './aggregate.discovery.js';
import { AggregateMessages } from './aggregate.messages.js';

/** What a child answers on one call: peers, a failure, or never (ignoring its signal too). */
type Answer = readonly string[] | Error | 'hang';

/** A child whose answers are scripted (the last repeats), recording the signal of each call. */
function child(name: string, answers: Answer[]): DiscoveryStrategy & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    name,
    signals,
    peers: (signal: AbortSignal) => {
      const answer = answers[Math.min(signals.push(signal) - 1, answers.length - 1)]!;
      if (answer === 'hang') return new Promise<never>(() => undefined);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
}

function harness() {
  const reported: { error: Error; source: string; consecutive?: number }[] = [];
  const noop = () => undefined;
  const context: DiscoveryContext = {
    self: 'me@10.0.0.9',
    logger: { log: noop, warn: noop, error: noop },
    requestRefresh: noop,
    reportError: (error, source, consecutive) => reported.push({ error, source, consecutive }),
  };
  return { context, reported };
}

/** A lookup signal that never aborts: only the children's own deadlines can end a hang. */
const signal = () => new AbortController().signal;
const nodes = (answer: readonly (Peer | string)[]) =>
  answer.map(p => (typeof p === 'string' ? p : p.node));

describe('AggregateDiscovery child deadline (childTimeoutMs)', () => {
  it('cuts off a hanging child: its last good peers and the others’ fresh ones are answered, and it is reported with a timeout', async () => {
    const hosts = child('hosts', [['b@10.0.0.2'], 'hang']);
    const aggregate = new AggregateDiscovery(
      [child('static', [['a@10.0.0.1'], ['a@10.0.0.1', 'z@10.0.0.26']]), hosts],
      { childTimeoutMs: 50 },
    );
    const { context, reported } = harness();
    await aggregate.init(context);
    await aggregate.peers(signal());
    expect(nodes(await aggregate.peers(signal()))).toEqual([
      'a@10.0.0.1',
      'z@10.0.0.26',
      'b@10.0.0.2',
    ]);
    expect(reported).toHaveLength(1);
    const { error, source, consecutive } = reported[0]!;
    expect([source, consecutive]).toEqual(['aggregate[1] hosts', 1]);
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error).toMatchObject({ code: 'ERR_DISCOVERY_TIMEOUT' });
    expect((error.cause as Error).message).toBe(AggregateMessages.childTimedOut(50));
    // the hanging call's own signal is aborted, so a child that honours it can stop
    expect(hosts.signals[1]!.aborted).toBe(true);
    expect(hosts.signals[1]!.reason).toBe(error.cause);
  });

  it('answers the others when a child that never answered hangs', async () => {
    const aggregate = new AggregateDiscovery(
      [child('etcd', ['hang']), child('static', [['a@10.0.0.1']])],
      { childTimeoutMs: 50 },
    );
    const { context, reported } = harness();
    await aggregate.init(context);
    expect(nodes(await aggregate.peers(signal()))).toEqual(['a@10.0.0.1']);
    expect(reported.map(r => [r.source, r.error.message])).toEqual([
      [
        'aggregate[0] etcd',
        AggregateMessages.childFailed(
          'aggregate[0] etcd',
          1,
          new Error(AggregateMessages.childTimedOut(50)),
        ),
      ],
    ]);
  });

  it('fails the lookup, naming each timeout, when every child hangs and none ever answered', async () => {
    const aggregate = new AggregateDiscovery([child('etcd', ['hang']), child('gossip', ['hang'])], {
      childTimeoutMs: 50,
    });
    const { context } = harness();
    await aggregate.init(context);
    const failure = await aggregate.peers(signal()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DiscoveryError);
    const timedOut = new Error(AggregateMessages.childTimedOut(50));
    expect((failure as Error).message).toBe(
      AggregateMessages.allFailed([
        ['aggregate[0] etcd', timedOut],
        ['aggregate[1] gossip', timedOut],
      ]),
    );
  });

  it('throws at once when the lookup itself is aborted before a child’s deadline', async () => {
    const aggregate = new AggregateDiscovery(
      [child('static', [['a@10.0.0.1']]), child('stuck', ['hang'])],
      { childTimeoutMs: 60_000 },
    );
    const { context, reported } = harness();
    await aggregate.init(context);
    const controller = new AbortController();
    const answer = aggregate.peers(controller.signal);
    controller.abort(new Error('cluster stopping'));
    await expect(answer).rejects.toThrow('cluster stopping');
    expect(reported).toEqual([]);
  });

  it('leaves a nested aggregate to its own deadline, so its healthy children’s fresh answers arrive', async () => {
    const inner = new AggregateDiscovery(
      [child('static', [['s@10.0.0.2']]), child('hosts', ['hang'])],
      { childTimeoutMs: 50 },
    );
    const outer = new AggregateDiscovery([child('gossip', [['g@10.0.0.3']]), inner], {
      childTimeoutMs: 50,
    });
    const { context, reported } = harness();
    await outer.init(context);
    expect(nodes(await outer.peers(signal()))).toEqual(['g@10.0.0.3', 's@10.0.0.2']);
    expect(reported.map(r => r.source)).toEqual(['aggregate[1] aggregate / aggregate[1] hosts']);
  });

  it(`defaults to ${DEFAULT_CHILD_TIMEOUT_MS} ms, below the engine's default lookup timeout`, () => {
    expect(DEFAULT_CHILD_TIMEOUT_MS).toBe(5_000);
    expect(new AggregateDiscovery([child('static', [[]])]).childTimeoutMs).toBe(5_000);
    expect(DEFAULT_CHILD_TIMEOUT_MS).toBeLessThan(DEFAULT_GEN_CLUSTER_OPTIONS.discoveryTimeoutMs);
    expect(
      new AggregateDiscovery([child('static', [[]])], { childTimeoutMs: 1 }).childTimeoutMs,
    ).toBe(1);
  });

  it.each([0, -1, 1.5, '5000', Number.POSITIVE_INFINITY, Number.NaN, MAX_TIMER_MS + 1, null])(
    'refuses childTimeoutMs %p, naming the option, the value and what is accepted',
    value => {
      const build = () =>
        new AggregateDiscovery([child('static', [[]])], { childTimeoutMs: value as never });
      expect(build).toThrow(InvalidConfigError);
      expect(build).toThrow('discovery (aggregate).childTimeoutMs');
      expect(build).toThrow(`an integer of milliseconds from 1 to ${MAX_TIMER_MS}`);
      // the options' own check refuses it before any child is built
      const options = { strategy: 'aggregate', of: ['gossip'], childTimeoutMs: value };
      expect(() => aggregateChildren(options)).toThrow('discovery (aggregate).childTimeoutMs');
    },
  );

  it('accepts childTimeoutMs in the aggregate options, next to strategy and of', () => {
    const of = [{ strategy: 'static', nodes: [] }];
    expect(aggregateChildren({ strategy: 'aggregate', of, childTimeoutMs: 2_000 })).toBe(of);
    expect(() => new AggregateDiscovery([child('static', [[]])], 'fast' as never)).toThrow(
      InvalidConfigError,
    );
  });
});
