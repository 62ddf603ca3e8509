import { InvalidConfigError, InvalidNodeNameError } from '../../../core/index.js';
import type { InitiatorHandshakeOptions } from './initiator.js';
import {
  acceptor,
  COOKIE,
  identity,
  initiator,
} from '../../../../test/support/handshake-harness.js';

describe('handshake options', () => {
  it('throws InvalidNodeNameError for a malformed own or expected name', () => {
    expect(() => initiator({ self: identity('not a name') })).toThrow(InvalidNodeNameError);
    expect(() => initiator({ expectedName: 'b@' })).toThrow(InvalidNodeNameError);
    expect(() => acceptor({ self: identity('@host') })).toThrow(InvalidNodeNameError);
  });

  it.each([
    ['an empty cookie', { cookie: '' }],
    ['an empty Buffer cookie', { cookie: Buffer.alloc(0) }],
    ['a long incarnation', { self: identity('a@10.0.0.1', { incarnation: 'x'.repeat(33) }) }],
    ['an empty incarnation', { self: identity('a@10.0.0.1', { incarnation: '' }) }],
    ['a zero heartbeat', { self: identity('a@10.0.0.1', { heartbeatMs: 0 }) }],
    ['a fractional timeout', { self: identity('a@10.0.0.1', { failureTimeoutMs: 1.5 }) }],
    ['port 0', { self: identity('a@10.0.0.1', { listenPort: 0 }) }],
    ['a name over 255 bytes', { self: identity(`${'a'.repeat(200)}@${'h'.repeat(60)}`) }],
    ['a capability with a space', { capabilities: ['two words'] }],
    ['33 capabilities', { capabilities: Array.from({ length: 33 }, (_, i) => `c${i}`) }],
    ['an empty version range', { versions: { min: 2, max: 1 } }],
    ['version 0', { versions: { min: 0, max: 1 } }],
  ] as [string, Partial<InitiatorHandshakeOptions>][])(
    'throws InvalidConfigError for %s',
    (_what, over) => {
      let thrown: unknown;
      try {
        initiator(over);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidConfigError);
      expect((thrown as Error).message).not.toContain(COOKIE);
    },
  );
});
