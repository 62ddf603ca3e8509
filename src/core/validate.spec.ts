import { InvalidConfigError } from './errors.js';
import {
  MAX_TIMER_MS,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkOneOf,
  checkPort,
  isPlainObject,
} from './validate.js';

describe('option checks', () => {
  it('tells plain objects from arrays, class instances and null', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject(null)).toBe(false);
  });

  it('names an unknown key and lists the known ones', () => {
    expect(() => checkKnownKeys('discovery (dns)', { domian: 'x' }, ['domain'])).toThrow(
      /discovery \(dns\)\.domian.*known: domain/,
    );
    expect(() => checkKnownKeys('discovery', 'dns', ['domain'])).toThrow(InvalidConfigError);
  });

  it('refuses durations a Node timer cannot wait, since Node fires them after 1 ms', () => {
    expect(() => checkMilliseconds('heartbeatMs', MAX_TIMER_MS)).not.toThrow();
    expect(() => checkMilliseconds('heartbeatMs', MAX_TIMER_MS + 1)).toThrow(
      /heartbeatMs.*24\.8 days/,
    );
    expect(() => checkMilliseconds('heartbeatMs', 0)).toThrow(InvalidConfigError);
    expect(() => checkMilliseconds('heartbeatMs', 1.5)).toThrow(InvalidConfigError);
    expect(() => checkMilliseconds('jitterMs', 1.5, { integer: false })).not.toThrow();
    expect(() => checkMilliseconds('delayMs', 0, { min: 0 })).not.toThrow();
  });

  it('checks integers, ports and enumerations with the value in the message', () => {
    expect(() => checkInteger('maxPending', 3, 1)).not.toThrow();
    expect(() => checkInteger('maxPending', 2 ** 31, 1)).toThrow(/maxPending.*2147483648/);
    expect(() => checkPort('port', 0, { allowZero: true })).not.toThrow();
    expect(() => checkPort('port', 0)).toThrow(/port.*from 1 to 65535/);
    expect(() => checkPort('port', 65_536, { allowZero: true })).toThrow(InvalidConfigError);
    expect(() => checkOneOf('removalPolicy', 'drop', ['keep', 'disconnect'])).toThrow(
      /"keep" or "disconnect"/,
    );
  });
});
