import {
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  InvalidConfigError,
  type Peer,
} from '../../core/index.js';
import { AggregateDiscovery, MAX_AGGREGATE_DEPTH } from './aggregate.discovery.js';
import { AggregateMessages } from './aggregate.messages.js';

type Answer = readonly (Peer | string)[] | Error | 'hang';

/** A child whose next answers are scripted; the last one repeats. */
class FakeChild implements DiscoveryStrategy {
  calls = 0;
  context: DiscoveryContext | undefined;
  closed = false;
  constructor(
    readonly name: string,
    private readonly answers: Answer[],
    private readonly hooks: { init?: () => Promise<void>; close?: () => Promise<void> } = {},
  ) {}
  async init(context: DiscoveryContext): Promise<void> {
    this.context = context;
    await this.hooks.init?.();
  }
  peers(): Promise<readonly (Peer | string)[]> {
    const answer = this.answers[Math.min(this.calls++, this.answers.length - 1)]!;
    if (answer === 'hang') return new Promise(() => undefined);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer);
  }
  async close(): Promise<void> {
    this.closed = true;
    await this.hooks.close?.();
  }
}

interface Reported {
  error: Error;
  source: string;
  consecutive: number | undefined;
}

function harness() {
  const reported: Reported[] = [];
  const lines: { level: string; message: string; fields?: unknown }[] = [];
  const line = (level: string) => (message: string, fields?: unknown) =>
    lines.push({ level, message, fields });
  const context: DiscoveryContext = {
    self: 'me@10.0.0.9',
    logger: {
      log: line('log'),
      warn: line('warn'),
      error: line('error'),
      debug: line('debug'),
    },
    requestRefresh: () => undefined,
    port: 4370,
    deriveKey: () => Buffer.alloc(32, 7),
    reportError: (error, source, consecutive) => reported.push({ error, source, consecutive }),
  };
  return { context, reported, lines };
}

const signal = () => new AbortController().signal;
const nodes = (answer: readonly (Peer | string)[]) =>
  answer.map(p => (typeof p === 'string' ? p : `${p.node}${p.port ? `:${p.port}` : ''}`));

describe('AggregateDiscovery', () => {
  it('answers the union of its children, one entry per node', async () => {
    const a = new FakeChild('static', [['a@10.0.0.1', 'b@10.0.0.2']]);
    const b = new FakeChild('hosts', [['b@10.0.0.2', 'c@10.0.0.3:4000']]);
    const aggregate = new AggregateDiscovery([a, b]);
    await aggregate.init(harness().context);
    expect(nodes(await aggregate.peers(signal()))).toEqual([
      'a@10.0.0.1',
      'b@10.0.0.2',
      'c@10.0.0.3:4000',
    ]);
  });

  it('asks every child at once, before any has answered', async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const child = (name: string): DiscoveryStrategy => ({
      name,
      peers: () =>
        new Promise(resolve => {
          started.push(name);
          release.push(() => resolve([`${name}@10.0.0.1`]));
        }),
    });
    const aggregate = new AggregateDiscovery([child('x'), child('y')]);
    await aggregate.init(harness().context);
    const answer = aggregate.peers(signal());
    await new Promise(resolve => setImmediate(resolve));
    expect(started).toEqual(['x', 'y']);
    release.forEach(r => r());
    expect(nodes(await answer)).toEqual(['x@10.0.0.1', 'y@10.0.0.1']);
  });

  it('lets the first child in order win a port conflict, with a debug line', async () => {
    const a = new FakeChild('static', [['a@10.0.0.1:4001', 'b@10.0.0.2']]);
    const b = new FakeChild('etcd', [['a@10.0.0.1:4002', 'b@10.0.0.2:4003']]);
    const { context, lines } = harness();
    const aggregate = new AggregateDiscovery([a, b]);
    await aggregate.init(context);
    // a port-less name is completed by a later child's port: that is no conflict
    expect(nodes(await aggregate.peers(signal()))).toEqual(['a@10.0.0.1:4001', 'b@10.0.0.2:4003']);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'debug',
        message: AggregateMessages.portConflict(
          'a@10.0.0.1',
          'aggregate[0] static',
          4001,
          'aggregate[1] etcd',
          4002,
        ),
      }),
    );
  });

  it('keeps a failing child’s last good peers and the others’ fresh ones, reporting its source', async () => {
    const down = new Error('file gone');
    const a = new FakeChild('static', [['a@10.0.0.1'], ['a@10.0.0.1', 'z@10.0.0.26']]);
    const b = new FakeChild('hosts', [['b@10.0.0.2'], down, down]);
    const { context, reported, lines } = harness();
    const aggregate = new AggregateDiscovery([a, b]);
    await aggregate.init(context);
    await aggregate.peers(signal());
    expect(nodes(await aggregate.peers(signal()))).toEqual([
      'a@10.0.0.1',
      'z@10.0.0.26',
      'b@10.0.0.2',
    ]);
    expect(nodes(await aggregate.peers(signal()))).toContain('b@10.0.0.2');
    expect(reported.map(r => [r.source, r.consecutive])).toEqual([
      ['aggregate[1] hosts', 1],
      ['aggregate[1] hosts', 2],
    ]);
    expect(reported[0]!.error).toBeInstanceOf(DiscoveryError);
    expect(reported[0]!.error.cause).toBe(down);
    // one warning for the run of failures, not one per lookup
    expect(lines.filter(l => l.level === 'warn')).toHaveLength(1);
  });

  it('reports a child’s error under a message naming its source, keeping its code', async () => {
    const error = new DiscoveryError('etcd did not answer', { code: 'ERR_DISCOVERY_TIMEOUT' });
    const aggregate = new AggregateDiscovery([
      new FakeChild('static', [['a@10.0.0.1']]),
      new FakeChild('etcd', [error]),
    ]);
    const { context, reported } = harness();
    await aggregate.init(context);
    expect(nodes(await aggregate.peers(signal()))).toEqual(['a@10.0.0.1']);
    expect(reported[0]!.error).toBeInstanceOf(DiscoveryError);
    expect(reported[0]!.error).toMatchObject({
      code: 'ERR_DISCOVERY_TIMEOUT',
      cause: error,
      message: AggregateMessages.childFailed('aggregate[1] etcd', 1, error),
    });
  });

  it('answers the others when a child that never answered fails', async () => {
    const aggregate = new AggregateDiscovery([
      new FakeChild('gossip', [new Error('ENODEV')]),
      new FakeChild('static', [['a@10.0.0.1']]),
    ]);
    const { context, reported } = harness();
    await aggregate.init(context);
    expect(nodes(await aggregate.peers(signal()))).toEqual(['a@10.0.0.1']);
    expect(reported.map(r => r.source)).toEqual(['aggregate[0] gossip']);
  });

  it('answers the last good peers when every child fails after one answered', async () => {
    const aggregate = new AggregateDiscovery([
      new FakeChild('hosts', [['a@10.0.0.1'], new Error('gone')]),
      new FakeChild('etcd', [new Error('down')]),
    ]);
    const { context, reported } = harness();
    await aggregate.init(context);
    await aggregate.peers(signal());
    expect(nodes(await aggregate.peers(signal()))).toEqual(['a@10.0.0.1']);
    expect(reported.map(r => [r.source, r.consecutive])).toEqual([
      ['aggregate[1] etcd', 1],
      ['aggregate[0] hosts', 1],
      ['aggregate[1] etcd', 2],
    ]);
  });

  it('fails the lookup, naming every source, only when all failed and none ever answered', async () => {
    const first = new Error('no route');
    const aggregate = new AggregateDiscovery([
      new FakeChild('gossip', [first, ['g@10.0.0.7']]),
      new FakeChild('etcd', [new Error('refused')]),
    ]);
    const { context, reported } = harness();
    await aggregate.init(context);
    const failure = await aggregate.peers(signal()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DiscoveryError);
    expect((failure as Error).message).toBe(
      AggregateMessages.allFailed([
        ['aggregate[0] gossip', first],
        ['aggregate[1] etcd', new Error('refused')],
      ]),
    );
    expect((failure as Error).cause).toBe(first);
    // the engine reports the failed lookup itself: no per-source event on top
    expect(reported).toEqual([]);
    expect(nodes(await aggregate.peers(signal()))).toEqual(['g@10.0.0.7']);
    expect(reported.map(r => [r.source, r.consecutive])).toEqual([['aggregate[1] etcd', 2]]);
  });

  it('counts an answer that is not an array as a failure', async () => {
    const odd: DiscoveryStrategy = { name: 'odd', peers: () => 'a@10.0.0.1' as never };
    const aggregate = new AggregateDiscovery([odd, new FakeChild('static', [['a@10.0.0.1']])]);
    const { context, reported } = harness();
    await aggregate.init(context);
    expect(nodes(await aggregate.peers(signal()))).toEqual(['a@10.0.0.1']);
    expect(reported[0]!.error.message).toContain(AggregateMessages.notAnArrayAnswer('string'));
  });

  it('passes entries that are no valid peer through, for the engine to log and skip', async () => {
    const aggregate = new AggregateDiscovery([new FakeChild('x', [['not a name', 'a@10.0.0.1']])]);
    await aggregate.init(harness().context);
    expect(await aggregate.peers(signal())).toEqual([{ node: 'a@10.0.0.1' }, 'not a name']);
  });

  it('settles when the lookup is aborted even if a child ignores the signal', async () => {
    const aggregate = new AggregateDiscovery([
      new FakeChild('static', [['a@10.0.0.1']]),
      new FakeChild('stuck', ['hang']),
    ]);
    const { context, reported } = harness();
    await aggregate.init(context);
    const controller = new AbortController();
    const answer = aggregate.peers(controller.signal);
    controller.abort(new Error('lookup timed out'));
    await expect(answer).rejects.toThrow('lookup timed out');
    expect(reported).toEqual([]);
  });

  it('logs once when a failing child answers again, and warns at once on its next failure', async () => {
    const aggregate = new AggregateDiscovery([
      new FakeChild('hosts', [new Error('a'), new Error('b'), ['a@10.0.0.1'], new Error('c')]),
      new FakeChild('static', [['s@10.0.0.2']]),
    ]);
    const { context, lines } = harness();
    await aggregate.init(context);
    for (let i = 0; i < 4; i++) await aggregate.peers(signal());
    expect(lines.filter(l => l.level !== 'debug').map(l => [l.level, l.message])).toEqual([
      ['warn', AggregateMessages.childFailed('aggregate[0] hosts', 1, new Error('a'))],
      ['log', AggregateMessages.childRecovered('aggregate[0] hosts', 2)],
      ['warn', AggregateMessages.childFailed('aggregate[0] hosts', 1, new Error('c'))],
    ]);
  });

  it('gives each child a context of its own: prefixed logger, tagged reportError, same port, key and refresh', async () => {
    const a = new FakeChild('local', [[]]);
    const b = new FakeChild('gossip', [[]]);
    const { context, reported, lines } = harness();
    await new AggregateDiscovery([a, b]).init(context);
    const child = b.context!;
    expect(child.self).toBe(context.self);
    expect(child.port).toBe(4370);
    expect(child.deriveKey).toBe(context.deriveKey);
    expect(child.requestRefresh).toBe(context.requestRefresh);
    child.logger.warn('socket closed', { event: 'x' });
    child.logger.debug?.('tick');
    expect(lines).toEqual([
      {
        level: 'warn',
        message: 'aggregate[1] gossip: socket closed',
        fields: { source: 'aggregate[1] gossip', event: 'x' },
      },
      {
        level: 'debug',
        message: 'aggregate[1] gossip: tick',
        fields: { source: 'aggregate[1] gossip' },
      },
    ]);
    const error = new Error('host b down');
    a.context!.reportError!(error, 'host b', 3);
    expect(reported).toEqual([{ error, source: 'aggregate[0] local / host b', consecutive: 3 }]);
  });

  it('tags the sources of nested aggregates with each level', async () => {
    const leaf = new FakeChild('hosts', [['a@10.0.0.1'], new Error('gone')]);
    const inner = new AggregateDiscovery([new FakeChild('static', [['s@10.0.0.2']]), leaf]);
    const outer = new AggregateDiscovery([new FakeChild('gossip', [[]]), inner]);
    const { context, reported } = harness();
    await outer.init(context);
    await outer.peers(signal());
    expect(nodes(await outer.peers(signal()))).toEqual(['s@10.0.0.2', 'a@10.0.0.1']);
    expect(reported.map(r => r.source)).toEqual(['aggregate[1] aggregate / aggregate[1] hosts']);
  });

  it('starts every child at once and throws the first failure once all have settled', async () => {
    let releaseSlow!: () => void;
    const slow = new FakeChild('slow', [[]], {
      init: () => new Promise<void>(resolve => (releaseSlow = resolve)),
    });
    const bad = new InvalidConfigError('gossip needs a secret');
    const failing = new FakeChild('gossip', [[]], { init: () => Promise.reject(bad) });
    const aggregate = new AggregateDiscovery([slow, failing]);
    let settled = false;
    const init = aggregate.init(harness().context).finally(() => (settled = true));
    await new Promise(resolve => setImmediate(resolve));
    expect(failing.context).toBeDefined();
    expect(settled).toBe(false);
    releaseSlow();
    await expect(init).rejects.toBe(bad);
  });

  it('closes every child even when one fails to close, then names it', async () => {
    const a = new FakeChild('etcd', [[]], {
      close: () => Promise.reject(new Error('revoke failed')),
    });
    const b = new FakeChild('gossip', [[]]);
    const aggregate = new AggregateDiscovery([a, b]);
    await aggregate.init(harness().context);
    const failure = await aggregate.close().catch((e: unknown) => e);
    expect(a.closed && b.closed).toBe(true);
    expect(failure).toBeInstanceOf(DiscoveryError);
    expect((failure as Error).message).toBe(
      AggregateMessages.closeFailed([['aggregate[0] etcd', new Error('revoke failed')]]),
    );
    await expect(new AggregateDiscovery([b]).close()).resolves.toBeUndefined();
  });

  it(`nests up to ${MAX_AGGREGATE_DEPTH} deep and refuses deeper`, () => {
    let nested = new AggregateDiscovery([new FakeChild('static', [[]])]);
    for (let depth = 2; depth <= MAX_AGGREGATE_DEPTH; depth++)
      nested = new AggregateDiscovery([nested]);
    expect(() => new AggregateDiscovery([nested])).toThrow(
      new InvalidConfigError(AggregateMessages.tooDeep(MAX_AGGREGATE_DEPTH)),
    );
  });

  it('refuses an empty list, a non-strategy and one instance given twice', () => {
    const child = new FakeChild('static', [[]]);
    expect(() => new AggregateDiscovery([])).toThrow(AggregateMessages.empty());
    expect(() => new AggregateDiscovery('gossip' as never)).toThrow(InvalidConfigError);
    expect(() => new AggregateDiscovery([child, { name: 'x' } as never])).toThrow(
      /of\[1\] is not a discovery strategy/,
    );
    expect(() => new AggregateDiscovery([child, child])).toThrow(
      AggregateMessages.sameInstance(0, 1, 'static'),
    );
  });
});
