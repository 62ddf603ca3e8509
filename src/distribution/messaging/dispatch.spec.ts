import { until } from '../../../test/support/wait.js';
import {
  A,
  B,
  C,
  MemoryNetwork,
  deferred,
  mainProcess,
  rejection,
  settle,
} from '../../../test/support/messaging-harness.js';
import { EnvelopeKind, encodeEnvelope } from './envelope.js';
import { MappedHandlerError } from './mapped-handler-error.js';
import { PayloadError, RemoteError, RequestTimeoutError } from './messaging.errors.js';

describe('dispatch', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  describe('requests', () => {
    it('awaits an async handler and answers undefined for a void one', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('later', async (payload: unknown) => {
        await Promise.resolve();
        return (payload as number) * 2;
      });
      b.on('void', () => undefined);
      await expect(a.request(B, 'later', 21)).resolves.toBe(42);
      await expect(a.request(B, 'void', null)).resolves.toBeUndefined();
    });

    it('rejects with PayloadError when the answer cannot be decoded', async () => {
      const a = net.add(A);
      const b = net.add(B, {
        codec: { name: 'bad', encode: () => Buffer.from([0xc1]), decode: () => 1 },
      });
      b.on('x', () => 'answer');
      const error = await rejection(a.request(B, 'x', 1));
      expect(error).toBeInstanceOf(PayloadError);
      expect(error).toMatchObject({ code: 'ERR_PAYLOAD_DECODE' });
    });
  });

  describe('handler failures on the serving node', () => {
    it('logs a mapped failure once at its level with the inner error, and answers with its status and response', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const notFound = Object.assign(new Error('no such sku'), { name: 'NotFoundException' });
      const body = { statusCode: 404, message: 'no such sku', error: 'Not Found' };
      b.on('refused', async () => {
        throw new MappedHandlerError(notFound, 'debug', 404, body);
      });
      b.on('quiet', () => {
        throw new MappedHandlerError(new Error('already logged'), 'none');
      });
      b.on('broken', () => {
        throw new MappedHandlerError(new Error('server side'), 'error', 500, { statusCode: 500 });
      });
      const refused = await rejection(a.request(B, 'refused', 1));
      expect(refused).toBeInstanceOf(RemoteError);
      expect(refused).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'NotFoundException',
        remoteMessage: 'no such sku',
        status: 404,
        response: body,
      });
      await rejection(a.request(B, 'quiet', 1));
      await rejection(a.request(B, 'broken', 1));
      const logger = net.logger(B);
      const refusedLines = logger.lines.filter(l => l.message.includes('"refused"'));
      expect(refusedLines).toEqual([
        {
          level: 'debug',
          message: expect.stringContaining(
            `refused a request from ${A} with status 404; the error was sent back: NotFoundException: no such sku`,
          ),
        },
      ]);
      expect(logger.lines.some(l => l.message.includes('already logged'))).toBe(false);
      expect(logger.lines.filter(l => l.level === 'error')).toEqual([
        {
          level: 'error',
          message: expect.stringContaining('The handler of "broken" failed on a request from'),
        },
      ]);
    });

    it('logs a failed request handler at error with its stack, once per topic and window', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('divide', () => {
        throw new RangeError('division by zero');
      });
      b.on('other', async () => {
        throw new Error('other failure');
      });
      for (let i = 0; i < 5; i++) await rejection(a.request(B, 'divide', i));
      await rejection(a.request(B, 'other', 0));
      const errors = net.logger(B).lines.filter(l => l.level === 'error');
      expect(errors).toHaveLength(2);
      expect(errors[0]!.message).toMatch(
        /^The handler of "divide" failed on a request from .+; the error was sent back: RangeError: division by zero\nRangeError: division by zero\n\s+at /,
      );
      expect(errors[1]!.message).toMatch(/"other".*\n.*other failure\n\s+at /);
      // the requester learns name and message, never the stack
      const remote = await rejection(a.request(B, 'divide', 9));
      expect(remote.message).toContain('division by zero');
      expect(remote.message).not.toMatch(/\s+at /);
    });
  });

  describe('one-way messages', () => {
    it('delivers a send to the handler with its context, synchronously returning nothing', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const seen: unknown[] = [];
      b.on('note', (payload, context) => {
        seen.push([payload, context]);
      });
      expect(a.send(B, 'note', { n: 1 })).toBeUndefined();
      await until(() => seen.length === 1, 5_000, 'delivery');
      expect(seen[0]).toEqual([
        { n: 1 },
        { from: A, topic: 'note', kind: 'oneWay', signal: undefined },
      ]);
      expect(net.sent[0].envelope).toMatchObject({ kind: EnvelopeKind.Send, requestId: 0 });
    });

    it('drops a send to a topic without handler with a rate-limited warning', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const seen: unknown[] = [];
      b.on('other', payload => void seen.push(payload));
      for (let i = 0; i < 50; i++) a.send(B, 'nobody', i);
      a.send(B, 'other', 'after');
      await until(() => seen.length === 1, 5_000, 'delivery');
      const warnings = net.logger(B).lines.filter(l => l.message.includes('"nobody"'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].level).toBe('warn');
    });

    it('catches and logs handler failures without unhandled rejections', async () => {
      const unhandled: unknown[] = [];
      const listener = (reason: unknown) => void unhandled.push(reason);
      mainProcess.on('unhandledRejection', listener);
      try {
        const a = net.add(A);
        const b = net.add(B);
        b.on('sync', () => {
          throw new Error('sync failure');
        });
        b.on('async', async () => {
          throw new Error('async failure');
        });
        b.on('thenable', () => ({
          then: (_ok: unknown, fail: (error: unknown) => void) =>
            fail(new Error('thenable failure')),
        }));
        a.send(B, 'sync', 1);
        a.send(B, 'async', 2);
        a.send(B, 'thenable', 3);
        await until(
          () =>
            ['sync failure', 'async failure', 'thenable failure'].every(text =>
              net.logger(B).has('error', text),
            ),
          5_000,
          'failure logs',
        );
        await settle();
        expect(unhandled).toEqual([]);
      } finally {
        mainProcess.off('unhandledRejection', listener);
      }
    });

    it('logs, never throws, for an undecodable payload or malformed bytes', async () => {
      const b = net.add(B);
      const seen: unknown[] = [];
      b.on('note', payload => void seen.push(payload));
      const bad = Buffer.concat(encodeEnvelope(EnvelopeKind.Send, 0, 'note', Buffer.from([0xc1])));
      expect(() => b.receive(A, bad)).not.toThrow();
      expect(net.logger(B).has('warn', 'Dropped a message from')).toBe(true);
      for (let i = 0; i < 20; i++) expect(() => b.receive(C, Buffer.from([9, 9, 9]))).not.toThrow();
      expect(net.logger(B).lines.filter(l => l.message.includes(`from ${C}`))).toHaveLength(1);
      expect(() => b.receive(C, Buffer.alloc(0))).not.toThrow();
      expect(seen).toEqual([]);
    });
  });

  describe('after close', () => {
    it('drops the answers of handlers still running when closed', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const gate = deferred();
      let started = false;
      b.on('slow', () => {
        started = true;
        return gate.promise;
      });
      const pending = a.request(B, 'slow', 1, { timeoutMs: 100 });
      await until(() => started, 5_000, 'handler start');
      b.close();
      gate.resolve('answer');
      await expect(pending).rejects.toBeInstanceOf(RequestTimeoutError);
      expect(net.sent.filter(s => s.from === B)).toHaveLength(0);
    });
  });
});
