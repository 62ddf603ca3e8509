import fc from 'fast-check';
import { A, B, C, deferred } from '../../../test/support/messaging-harness.js';
import { flushPromises } from '../../../test/support/wait.js';
import { type Delta, entryKey } from './registry-protocol.js';
import { RegistrySync } from './registry-sync.js';
import { ReplicatedTable } from './replicated-table.js';

/** A fixed seed, so CI runs the same cases; fast-check prints it with any counterexample. */
const PROPERTY = { seed: 1414, numRuns: 1000 } as const;
const h = (name: string) => entryKey('h', name);

describe('ReplicatedTable', () => {
  it('keeps each entry’s nodes sorted and bumps its version on each change only', () => {
    const table = new ReplicatedTable();
    const v0 = table.version;
    table.apply(C, [h('p')], []);
    table.apply(A, [h('p')], []);
    table.apply(B, [h('p'), h('q')], []);
    expect(table.nodesOf(h('p'))).toEqual([A, B, C]);
    const v1 = table.version;
    expect(v1).toBeGreaterThan(v0);
    expect(table.apply(B, [h('p')], [])).toEqual({ added: [], removed: [] });
    expect(table.version).toBe(v1);
    expect(table.replace(B, [h('r')])).toEqual({ added: [h('r')], removed: [h('p'), h('q')] });
    expect(table.nodesOf(h('p'))).toEqual([A, C]);
    expect(table.nodesOf(h('q'))).toEqual([]);
    expect([...table.keys()].sort()).toEqual([h('p'), h('r')]);
  });

  it('never changes an array it handed out', () => {
    const table = new ReplicatedTable();
    table.apply(A, [h('p')], []);
    const seen = table.nodesOf(h('p'));
    table.apply(B, [h('p')], []);
    table.apply(A, [], [h('p')]);
    expect(seen).toEqual([A]);
    expect(table.nodesOf(h('p'))).toEqual([B]);
  });

  it('suppresses a node’s entry until unsuppressed, removed or replaced', () => {
    const table = new ReplicatedTable();
    table.apply(A, [h('p')], []);
    table.apply(B, [h('p')], []);
    expect(table.suppress(B, h('p'))).toBe(true);
    expect(table.suppress(B, h('x'))).toBe(false);
    expect(table.nodesOf(h('p'))).toEqual([A]);
    expect(table.hasSuppressed(B)).toBe(true);
    expect(table.unsuppress(B, h('p'))).toBe(true);
    expect(table.nodesOf(h('p'))).toEqual([A, B]);
    table.suppress(B, h('p'));
    table.apply(B, [], [h('p')]);
    table.apply(B, [h('p')], []);
    expect(table.nodesOf(h('p'))).toEqual([A, B]);
    table.suppress(B, h('p'));
    expect(table.removeNode(B)).toEqual([h('p')]);
    expect(table.hasSuppressed(B)).toBe(false);
    expect(table.nodesOf(h('p'))).toEqual([A]);
  });

  describe('three syncs over in-order links (model-based)', () => {
    const NODES = [A, B, C] as const;
    const NAMES = ['p', 'q'] as const;
    type Message =
      | {
          kind: 'hello';
          body: unknown;
          reply: (value: unknown) => void;
          fail: (e: unknown) => void;
        }
      | { kind: 'answer'; value: unknown; reply: (value: unknown) => void }
      | { kind: 'delta'; delta: Delta };
    type Command =
      | { op: 'toggle'; node: number; name: number }
      | { op: 'up'; a: number; b: number }
      | { op: 'down'; a: number; b: number }
      | { op: 'nodeUp'; pick: number }
      | { op: 'deliver'; pick: number; count: number }
      | { op: 'microtasks' };

    const pair = fc.tuple(fc.nat(2), fc.nat(2)).filter(([a, b]) => a !== b);
    const command: fc.Arbitrary<Command> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          op: fc.constant('toggle' as const),
          node: fc.nat(2),
          name: fc.nat(1),
        }),
      },
      { weight: 2, arbitrary: pair.map(([a, b]) => ({ op: 'up' as const, a, b })) },
      { weight: 1, arbitrary: pair.map(([a, b]) => ({ op: 'down' as const, a, b })) },
      { weight: 2, arbitrary: fc.nat().map(pick => ({ op: 'nodeUp' as const, pick })) },
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.nat(), fc.integer({ min: 1, max: 3 }))
          .map(([pick, count]) => ({ op: 'deliver' as const, pick, count })),
      },
      { weight: 1, arbitrary: fc.constant({ op: 'microtasks' as const }) },
    );

    /** Three syncs and the links between them; each direction is a FIFO queue. */
    function world() {
      const local = NODES.map(() => new Set<string>());
      const queues = new Map<string, Message[]>();
      const linked = new Set<string>();
      /** nodeUp events not yet delivered: `a>b` means a has not yet seen b come up. */
      const upDue = new Set<string>();
      const key = (a: number, b: number) => `${a}>${b}`;
      const linkKey = (a: number, b: number) => `${Math.min(a, b)}-${Math.max(a, b)}`;
      const index = (node: string) => NODES.indexOf(node as (typeof NODES)[number]);
      const enqueue = (from: number, to: number, message: Message) => {
        if (!linked.has(linkKey(from, to)))
          throw Object.assign(new Error('down'), { code: 'ERR_NODE_DOWN' });
        const queue = queues.get(key(from, to)) ?? [];
        queue.push(message);
        queues.set(key(from, to), queue);
      };
      const syncs: RegistrySync[] = NODES.map(
        (self, i) =>
          new RegistrySync({
            self,
            kinds: new Set(['h']),
            io: {
              hello: (node, body) => {
                const d = deferred();
                enqueue(i, index(node), { kind: 'hello', body, reply: d.resolve, fail: d.reject });
                return d.promise;
              },
              send: (node, delta) => enqueue(i, index(node), { kind: 'delta', delta }),
              changed: () => undefined,
            },
          }),
      );
      const deliver = (from: number, to: number): boolean => {
        const message = queues.get(key(from, to))?.shift();
        if (message === undefined) return false;
        const sender = NODES[from]!;
        if (message.kind === 'delta') syncs[to]!.onDelta(sender, message.delta);
        else if (message.kind === 'answer') message.reply(message.value);
        else {
          const value = syncs[to]!.onHello(sender, message.body);
          try {
            enqueue(to, from, { kind: 'answer', value, reply: message.reply });
          } catch (error) {
            message.fail(error);
          }
        }
        return true;
      };
      const down = (a: number, b: number) => {
        if (!linked.delete(linkKey(a, b))) return;
        for (const [x, y] of [
          [a, b],
          [b, a],
        ] as const) {
          for (const message of queues.get(key(x, y)) ?? [])
            if (message.kind === 'hello')
              message.fail(Object.assign(new Error('down'), { code: 'ERR_NODE_DOWN' }));
          queues.delete(key(x, y));
          if (upDue.delete(key(x, y))) continue;
          syncs[x]!.nodeDown(NODES[y]!);
        }
      };
      return {
        syncs,
        local,
        run(c: Command) {
          if (c.op === 'toggle') {
            const name = NAMES[c.name]!;
            const on = !local[c.node]!.has(name);
            if (on) local[c.node]!.add(name);
            else local[c.node]!.delete(name);
            syncs[c.node]!.localChanged(h(name), on);
          } else if (c.op === 'up') {
            if (linked.has(linkKey(c.a, c.b))) return;
            linked.add(linkKey(c.a, c.b));
            upDue.add(key(c.a, c.b));
            upDue.add(key(c.b, c.a));
          } else if (c.op === 'down') down(c.a, c.b);
          else if (c.op === 'nodeUp') {
            // The pick-th due nodeUp, so that every command does something.
            const due = [...upDue];
            if (due.length === 0) return;
            const chosen = due[c.pick % due.length]!;
            const [a, b] = chosen.split('>').map(Number) as [number, number];
            upDue.delete(chosen);
            syncs[a]!.nodeUp(NODES[b]!);
          } else if (c.op === 'deliver') {
            const busy = [...queues].filter(([, q]) => q.length > 0).map(([k]) => k);
            if (busy.length === 0) return;
            const [from, to] = busy[c.pick % busy.length]!.split('>').map(Number) as [
              number,
              number,
            ];
            for (let i = 0; i < c.count; i++) deliver(from, to);
          }
        },
        async quiesce() {
          for (let round = 0; round < 200; round++) {
            let moved = false;
            for (const due of [...upDue]) {
              const [a, b] = due.split('>').map(Number) as [number, number];
              upDue.delete(due);
              syncs[a]!.nodeUp(NODES[b]!);
              moved = true;
            }
            for (let from = 0; from < 3; from++)
              for (let to = 0; to < 3; to++) while (deliver(from, to)) moved = true;
            await flushPromises();
            if (!moved && [...queues.values()].every(q => q.length === 0)) return;
          }
          throw new Error('did not quiesce');
        },
        linked: (a: number, b: number) => linked.has(linkKey(a, b)),
        close: () => syncs.forEach(s => s.close()),
      };
    }

    it('converges to every node’s own entries once the links are quiet', async () => {
      // Each command is an event-loop turn (microtasks run after it) unless it shares the
      // next one's turn, as messages of one socket read do: that is where a delta overtakes
      // a hello answer.
      const turn = fc.tuple(command, fc.boolean());
      await fc.assert(
        fc.asyncProperty(fc.array(turn, { maxLength: 40 }), async commands => {
          const w = world();
          try {
            for (const [c, sameTurn] of commands) {
              if (c.op !== 'microtasks') w.run(c);
              if (!sameTurn || c.op === 'microtasks') await flushPromises();
            }
            await w.quiesce();
            for (let x = 0; x < 3; x++)
              for (let y = 0; y < 3; y++) {
                const seen = [...w.syncs[x]!.table.entriesOf(NODES[y]!)].sort();
                const expected = x === y || w.linked(x, y) ? [...w.local[y]!].map(h).sort() : [];
                expect({ at: NODES[x], of: NODES[y], seen }).toEqual({
                  at: NODES[x],
                  of: NODES[y],
                  seen: expected,
                });
              }
          } finally {
            w.close();
          }
        }),
        PROPERTY,
      );
    });
  });
});
