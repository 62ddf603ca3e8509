import { InvalidConfigError } from '../../core/index.js';
import { DEFAULT_TCP_DIST_OPTIONS, TcpDist } from './tcp.dist.js';

describe('TcpDist namespace option', () => {
  it('is "default" unless given', () => {
    expect(DEFAULT_TCP_DIST_OPTIONS.namespace).toBe('default');
    expect(new TcpDist({ cookie: 'c' }).namespace).toBe('default');
    expect(new TcpDist({ cookie: 'c', namespace: 'payments.eu-1' }).namespace).toBe(
      'payments.eu-1',
    );
  });

  it.each(['', 'a b', 'a/b', 'ü', 'n'.repeat(65), 42, null])(
    'refuses %p at construction, naming the option and the form',
    value => {
      const make = () => new TcpDist({ cookie: 'c', namespace: value as string });
      expect(make).toThrow(InvalidConfigError);
      expect(make).toThrow(
        /Invalid option namespace: .*expected 1 to 64 characters: letters, digits/,
      );
    },
  );
});
