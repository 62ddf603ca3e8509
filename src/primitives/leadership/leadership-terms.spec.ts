import { Subject } from 'rxjs';
import type { RegistryEntryChange, RegistryEntryKind } from '../registry/registry-entries.js';
import { LeadershipTerms, type TermRegistry, parseTerm } from './leadership-terms.js';

/** The term entries of a registry, kept in a map (node -> names), with its change stream. */
function termTable() {
  const held = new Map<string, Set<string>>();
  const changes = new Subject<RegistryEntryChange>();
  const calls: string[] = [];
  const set = (node: string) => held.get(node) ?? held.set(node, new Set()).get(node)!;
  const registry: TermRegistry = {
    announce: (_kind: RegistryEntryKind, name: string) => {
      calls.push(`announce ${name}`);
      set('self@h').add(name);
    },
    withdraw: (_kind: RegistryEntryKind, name: string) => {
      calls.push(`withdraw ${name}`);
      set('self@h').delete(name);
    },
    names: () => [...new Set([...held.values()].flatMap(names => [...names]))].sort(),
    nodesOf: (_kind: RegistryEntryKind, name: string) =>
      [...held].filter(([, names]) => names.has(name)).map(([node]) => node),
    get entries$() {
      return changes.asObservable();
    },
  };
  /** `node` announces `term` (or loses all its entries with `undefined`, as on nodeDown). */
  const peer = (node: string, term: number | undefined) => {
    const before = [...set(node)];
    held.set(node, new Set(term === undefined ? [] : [String(term)]));
    changes.next({
      node,
      reason: term === undefined ? 'nodeDown' : 'announced',
      added: term === undefined ? [] : [{ kind: 'term', name: String(term) }],
      removed: before.map(name => ({ kind: 'term' as const, name })),
    });
  };
  return { registry, calls, peer };
}

describe('parseTerm', () => {
  it.each([
    ['1', 1],
    ['42', 42],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['0', undefined],
    ['007', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['x', undefined],
    ['99999999999999999', undefined],
  ])('reads %j as %j', (name, term) => {
    expect(parseTerm(name)).toBe(term);
  });
});

describe('LeadershipTerms', () => {
  it('takes one more than any term seen, withdrawing its previous one', () => {
    const { registry, calls, peer } = termTable();
    const higher: number[] = [];
    const terms = new LeadershipTerms({ self: 'self@h', registry, onHigher: t => higher.push(t) });
    terms.start();
    peer('a@h', 4);
    terms.leaderChanged('a@h');
    expect(terms.termOf('a@h')).toBe(4);
    peer('a@h', undefined); // a went down: its entry left, the highest seen stays
    terms.leaderChanged('self@h');
    expect(terms.termOf('self@h')).toBe(5);
    expect(terms.take()).toBe(6);
    expect(calls).toEqual(['announce 5', 'withdraw 5', 'announce 6']);
    expect(higher).toEqual([]);
  });

  it('reports a higher term of another node once it holds one, never its own', () => {
    const { registry, peer } = termTable();
    const higher: [number, string][] = [];
    const terms = new LeadershipTerms({
      self: 'self@h',
      registry,
      onHigher: (term, node) => higher.push([term, node]),
    });
    terms.start();
    peer('a@h', 3); // no term of its own yet: nothing to compare
    expect(terms.take()).toBe(4);
    peer('b@h', 2);
    peer('b@h', 9);
    expect(higher).toEqual([[9, 'b@h']]);
    expect(terms.termOf('b@h')).toBe(9);
    expect(terms.termOf(undefined)).toBe(0);
    expect(terms.termOf('nobody@h')).toBe(0);
    terms.close();
    peer('b@h', 20);
    expect(higher).toHaveLength(1);
  });

  it('counts leadership changes from 1 without a registry', () => {
    const terms = new LeadershipTerms({ self: 'self@h', registry: undefined, onHigher: () => 0 });
    terms.start();
    terms.leaderChanged('self@h');
    expect(terms.termOf('self@h')).toBe(1);
    terms.leaderChanged(undefined);
    terms.leaderChanged('a@h');
    expect(terms.termOf('a@h')).toBe(2);
    terms.leaderChanged('self@h');
    expect(terms.termOf('self@h')).toBe(3);
  });
});
