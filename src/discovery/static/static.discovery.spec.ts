import { InvalidConfigError } from '../../core/index.js';
import { StaticDiscovery } from './static.discovery.js';
import { StaticMessages } from './static.messages.js';

describe('StaticDiscovery', () => {
  it('answers its nodes, from options or from a bare list', () => {
    const nodes = ['a@10.0.0.1', 'b@10.0.0.2:4370'];
    expect(new StaticDiscovery({ nodes }).peers().map(p => p.node)).toEqual([
      'a@10.0.0.1',
      'b@10.0.0.2',
    ]);
    expect(new StaticDiscovery(nodes).peers()).toEqual(new StaticDiscovery({ nodes }).peers());
  });

  it('refuses nodes that are not an array, with the text of its catalog', () => {
    const build = () => new StaticDiscovery({ nodes: 'a@h' as never });
    expect(build).toThrow(InvalidConfigError);
    expect(build).toThrow(StaticMessages.notAnArray('a@h'));
  });

  it('names the entry that is not a node, by its index', () => {
    let error: unknown;
    try {
      new StaticDiscovery({ nodes: ['a@h', 'not a node'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as Error).message).toMatch(/^Invalid static discovery entry #1 "not a node": /);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect((error as InvalidConfigError).option).toBe('nodes[1]');
  });
});
