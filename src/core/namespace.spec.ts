import { InvalidConfigError } from './errors.js';
import { DEFAULT_NAMESPACE, checkNamespace, isClusterNamespace } from './namespace.js';

describe('cluster namespace form', () => {
  it('is "default" by default, itself a namespace', () => {
    expect(DEFAULT_NAMESPACE).toBe('default');
    expect(isClusterNamespace(DEFAULT_NAMESPACE)).toBe(true);
  });

  it.each(['a', 'payments', 'team-a.eu_1', 'A'.repeat(64), '0', '.', '_-.'])(
    'accepts %p',
    value => {
      expect(isClusterNamespace(value)).toBe(true);
      expect(() => checkNamespace('namespace', value)).not.toThrow();
    },
  );

  it.each(['', 'a b', 'a/b', 'a:b', 'a;b', 'a=b', 'é', 'n'.repeat(65), 7, null, undefined])(
    'refuses %p, naming the option, the value and the form',
    value => {
      expect(isClusterNamespace(value)).toBe(false);
      expect(() => checkNamespace('x.namespace', value)).toThrow(InvalidConfigError);
      expect(() => checkNamespace('x.namespace', value)).toThrow(
        /Invalid option x\.namespace: received .*; expected 1 to 64 characters: letters, digits, "\.", "_" and "-"\./,
      );
    },
  );
});
