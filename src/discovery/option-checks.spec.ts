import { InvalidConfigError } from '../core/index.js';
import { checkStrategyOptions, optionName } from './option-checks.js';

const check = (options: unknown) =>
  checkStrategyOptions('dns', options, ['strategy', 'domain'], 'an object such as { domain }');

describe('checkStrategyOptions', () => {
  it('names options the same way for every strategy', () => {
    expect(optionName('dns')).toBe('discovery (dns)');
    expect(optionName('dns', 'domain')).toBe('discovery (dns).domain');
  });

  it('accepts a plain object of known keys, with or without its own strategy', () => {
    expect(() => check({ domain: 'x' })).not.toThrow();
    expect(() => check({ strategy: 'dns', domain: 'x' })).not.toThrow();
    expect(() => check(Object.assign(Object.create(null), { domain: 'x' }))).not.toThrow();
  });

  it.each([null, 'dns', ['dns'], new Date(0)])('refuses %p, showing what to give', options => {
    expect(() => check(options)).toThrow(InvalidConfigError);
    expect(() => check(options)).toThrow(/discovery \(dns\): .*an object such as \{ domain \}/);
  });

  it('refuses an unknown key, listing the known ones', () => {
    expect(() => check({ domian: 'x' })).toThrow(
      /discovery \(dns\)\.domian: received "x"; .*known: strategy, domain/,
    );
  });

  it("refuses another strategy's options", () => {
    expect(() => check({ strategy: 'local' })).toThrow(
      /discovery \(dns\)\.strategy: received "local"; expected "dns"/,
    );
  });
});
