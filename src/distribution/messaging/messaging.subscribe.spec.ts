import { until } from '../../../test/support/wait.js';
import {
  A,
  B,
  C,
  MemoryNetwork,
  countingCodec,
  mainProcess,
  rejection,
  settle,
  thrown,
} from '../../../test/support/messaging-harness.js';
import type { MessageContext } from '../../core/index.js';
import { MappedHandlerError } from './mapped-handler-error.js';
import { MessagingClosedError, RemoteError } from './messaging.errors.js';

describe('Messaging subscribers', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  it('runs the request handler then every subscriber on a send and a broadcast, decoding once', async () => {
    const { codec, counts } = countingCodec();
    const a = net.add(A, { codec });
    const b = net.add(B, { codec });
    const calls: { who: string; payload: unknown; context: MessageContext }[] = [];
    b.subscribe('news', (payload, context) => void calls.push({ who: 's1', payload, context }));
    b.on('news', (payload, context) => void calls.push({ who: 'handler', payload, context }));
    b.subscribe('news', (payload, context) => void calls.push({ who: 's2', payload, context }));

    a.send(B, 'news', { n: 1 });
    await until(() => calls.length === 3, 5_000, 'three receivers');
    expect(calls.map(c => c.who)).toEqual(['handler', 's1', 's2']);
    expect(counts.decodes).toBe(1);
    // one decoded value and one context, shared by every receiver
    expect(calls[1].payload).toBe(calls[0].payload);
    expect(calls[2].payload).toBe(calls[0].payload);
    expect(calls[0].payload).toEqual({ n: 1 });
    for (const { context } of calls) {
      expect(context).toMatchObject({ from: A, topic: 'news', kind: 'oneWay' });
      expect(context.signal).toBeUndefined();
    }

    calls.length = 0;
    expect(a.broadcast('news', { n: 2 })).toBe(1);
    await until(() => calls.length === 3, 5_000, 'three receivers of the broadcast');
    await settle();
    expect(calls).toHaveLength(3);
    expect(calls.map(c => c.who)).toEqual(['handler', 's1', 's2']);
    expect(counts.decodes).toBe(2);
  });

  it('delivers to subscribers of a topic without a request handler, and to self', async () => {
    const a = net.add(A);
    const got: unknown[] = [];
    a.subscribe('self.news', payload => void got.push(payload));
    a.send(A, 'self.news', 'hi');
    await until(() => got.length === 1, 5_000, 'self delivery');
    expect(got).toEqual(['hi']);
    expect(net.logger(A).has('warn', 'no handler')).toBe(false);
  });

  it('never gives a request to a subscriber; a topic with subscribers only answers ERR_NO_HANDLER', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const seen: string[] = [];
    b.subscribe('only-subs', () => void seen.push('sub'));
    b.subscribe('both', () => void seen.push('sub'));
    b.on('both', () => {
      seen.push('handler');
      return 'answer';
    });
    const error = await rejection(a.request(B, 'only-subs', 1));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'ERR_NO_HANDLER', node: B, topic: 'only-subs' });
    await expect(a.request(B, 'both', 1)).resolves.toBe('answer');
    await settle();
    expect(seen).toEqual(['handler']);
  });

  it('isolates receivers: a throwing or rejecting subscriber or handler is logged, the others still run', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    mainProcess.on('unhandledRejection', onUnhandled);
    try {
      const a = net.add(A);
      const b = net.add(B);
      const ran: string[] = [];
      b.on('t', () => {
        ran.push('handler');
        throw new Error('handler broke');
      });
      b.subscribe('t', () => {
        ran.push('s1');
        throw new TypeError('s1 broke');
      });
      b.subscribe('t', async () => {
        ran.push('s2');
        throw new RangeError('s2 broke');
      });
      b.subscribe('t', () => void ran.push('s3'));
      a.send(B, 't', 1);
      await until(() => net.logger(B).count('error') === 3, 5_000, 'error lines');
      expect(ran).toEqual(['handler', 's1', 's2', 's3']);
      const logger = net.logger(B);
      expect(logger.has('error', 'The handler of "t" failed on a message from')).toBe(true);
      // each subscriber's failures are rate-limited on their own: s2's is not hidden by s1's
      expect(logger.has('error', 'A subscriber of "t" failed on a message from')).toBe(true);
      expect(logger.has('error', 'TypeError: s1 broke')).toBe(true);
      expect(logger.has('error', 'RangeError: s2 broke')).toBe(true);
      await settle();
      expect(unhandled).toEqual([]);
    } finally {
      mainProcess.off('unhandledRejection', onUnhandled);
    }
  });

  it('allows unsubscribing during a dispatch: that message reaches every subscriber it started with', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const ran: string[] = [];
    const offs: (() => void)[] = [];
    offs.push(
      b.subscribe('t', () => {
        ran.push('s1');
        for (const off of offs) off(); // removes itself and both others, mid-dispatch
      }),
    );
    offs.push(b.subscribe('t', () => void ran.push('s2')));
    const third = (): void => void ran.push('s3');
    offs.push(b.subscribe('t', third));
    const keep = b.subscribe('t', third); // the same function twice: two registrations
    a.send(B, 't', 1);
    await until(() => ran.length === 4, 5_000, 'first dispatch');
    expect(ran).toEqual(['s1', 's2', 's3', 's3']);
    ran.length = 0;
    a.send(B, 't', 2);
    await until(() => ran.length === 1, 5_000, 'second dispatch');
    await settle();
    expect(ran).toEqual(['s3']);
    keep();
    keep(); // idempotent
    a.send(B, 't', 3);
    await until(() => net.logger(B).has('warn', 'no handler'), 5_000, 'nohandler warning');
    expect(ran).toEqual(['s3']);
  });

  it('warns nohandler when a one-way message has neither handler nor subscriber', async () => {
    const a = net.add(A);
    net.add(B);
    a.send(B, 'nobody', 1);
    await until(() => net.logger(B).has('warn', 'no handler'), 5_000, 'nohandler warning');
  });

  it('logs a mapped failure at its level with the inner error, and nothing for "none"', async () => {
    const a = net.add(A);
    const b = net.add(B);
    b.subscribe('t', () => {
      throw new MappedHandlerError(new Error('quiet'), 'none');
    });
    b.subscribe('t', async () => {
      throw new MappedHandlerError(new RangeError('bad input'), 'warn', 400);
    });
    b.on('t', () => {
      throw new MappedHandlerError(new Error('handler said no'), 'debug', 404);
    });
    a.send(B, 't', 1);
    const logger = net.logger(B);
    await until(() => logger.has('warn', 'RangeError: bad input'), 5_000, 'warn line');
    await until(() => logger.has('debug', 'handler said no'), 5_000, 'debug line');
    await settle();
    expect(logger.count('error')).toBe(0);
    expect(logger.lines.some(l => l.message.includes('quiet'))).toBe(false);
  });

  it('refuses bad handlers, and subscribe after close', () => {
    const b = net.add(B);
    expect(thrown(() => b.subscribe('t', 42 as never))).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
    expect(thrown(() => b.subscribe('', () => 1))).toMatchObject({ code: 'ERR_INVALID_TOPIC' });
    const off = b.subscribe('t', () => 1);
    b.close();
    off(); // harmless after close
    expect(thrown(() => b.subscribe('t', () => 1))).toBeInstanceOf(MessagingClosedError);
  });

  it('drops subscribers at close: nothing runs for a message dispatched after', async () => {
    const a = net.add(A);
    const c = net.add(C);
    const got: unknown[] = [];
    c.subscribe('t', payload => void got.push(payload));
    c.close();
    a.send(C, 't', 1);
    await settle();
    expect(got).toEqual([]);
  });
});
