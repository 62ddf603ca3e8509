import { describeValue } from './messages.js';
import { toError } from './errors.js';

describe('describeValue', () => {
  it('never prints a cookie, a key or a token, however deep', () => {
    const text = describeValue({
      strategy: 'tcp',
      cookie: 'SUPER-SECRET',
      tls: { key: 'PEM' },
      port: 0,
    });
    expect(text).not.toMatch(/SUPER-SECRET|PEM/);
    expect(text).toContain('cookie: (hidden)');
    expect(text).toContain('port: 0');
  });

  it('renders circular values and BigInts without throwing', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    expect(() => describeValue(circular)).not.toThrow();
    expect(toError(circular).message).toContain('a: 1');
    expect(toError(10n).message).toBe('10n');
  });
});
