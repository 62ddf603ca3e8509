import type { EpmdNodeInfo } from './epmd-protocol.js';
import { NodeRegistry } from './node-registry.js';

const node = (name: string, port = 40_000): EpmdNodeInfo => ({
  name,
  port,
  nodeType: 77,
  protocol: 0,
  highestVersion: 6,
  lowestVersion: 5,
  extra: new Uint8Array(0),
});

describe('NodeRegistry', () => {
  it('lists names in registration order and forgets them when their owner goes', () => {
    const registry = new NodeRegistry<object>();
    const a = {};
    const b = {};
    registry.add(node('a', 1), a, true);
    registry.add(node('b', 2), b, true);
    expect(registry.names()).toEqual([
      { name: 'a', port: 1 },
      { name: 'b', port: 2 },
    ]);
    expect(registry.remove('a', a)).toBe(true);
    expect(registry.has('a')).toBe(false);
    expect(registry.size).toBe(1);
  });

  it('keeps a name when a connection that does not hold it closes', () => {
    const registry = new NodeRegistry<object>();
    const holder = {};
    registry.add(node('same'), holder, true);
    expect(registry.remove('same', {})).toBe(false);
    expect(registry.get('same')?.owner).toBe(holder);
  });

  it('gives every registration a creation of at least 4, never the previous one of the name', () => {
    const registry = new NodeRegistry<object>();
    let previous: number | undefined;
    for (let i = 0; i < 50; i++) {
      const owner = {};
      const creation = registry.add(node('again'), owner, true);
      expect(creation).toBeGreaterThanOrEqual(4);
      expect(creation).not.toBe(previous);
      previous = creation;
      registry.remove('again', owner);
    }
  });

  it('for an old client, never repeats the previous creation as it sees it (creation % 3 + 1)', () => {
    const registry = new NodeRegistry<object>();
    const seen = (creation: number) => (creation % 3) + 1;
    let previous: number | undefined;
    for (let i = 0; i < 50; i++) {
      const owner = {};
      const creation = registry.add(node('old'), owner, false);
      if (previous !== undefined) expect(seen(creation)).not.toBe(seen(previous));
      previous = creation;
      registry.remove('old', owner);
    }
  });
});
