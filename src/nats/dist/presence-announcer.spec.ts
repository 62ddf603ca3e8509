import { jest } from '@jest/globals';
import { decodePresence } from '../protocol/index.js';
import { NatsDistStatsCounter } from './nats-dist-stats.js';
import { PresenceAnnouncer, type PresenceAnnouncerOptions } from './presence-announcer.js';

const KEY = Buffer.alloc(32, 7);
const logger = { log: () => undefined, warn: () => undefined, error: () => undefined };

function harness(options: Partial<PresenceAnnouncerOptions> = {}) {
  const published: { subject: string; kind: string; counter: number; to?: string }[] = [];
  const link = {
    connected: true,
    publish(subject: string, payload: Uint8Array) {
      const decoded = decodePresence(payload, KEY);
      if (!decoded.ok) throw new Error('bad packet');
      const { kind, counter, to } = decoded.announcement;
      published.push({ subject, kind, counter, ...(to === undefined ? {} : { to }) });
    },
  };
  const announcer = new PresenceAnnouncer({
    self: 'a@h',
    incarnation: '0123456789abcdef',
    startedAt: 1_000,
    key: KEY,
    presenceSubject: 'gc.ns.p',
    inbox: inc => `gc.ns.n.${inc}`,
    link: () => link,
    heartbeatIntervalMs: 1_000,
    counters: new NatsDistStatsCounter(logger),
    ...options,
  });
  return { announcer, link, published };
}

const hello = (incarnation: string) => ({
  kind: 'hello' as const,
  node: 'b@h',
  incarnation,
  counter: 1,
  startedAt: 1,
  port: 0,
});

describe('PresenceAnnouncer', () => {
  afterEach(() => jest.useRealTimers());

  it('says hello, then alive every interval ±10%, with a growing counter', () => {
    jest.useFakeTimers();
    const h = harness({ random: () => 0 });
    h.announcer.start();
    expect(h.published).toEqual([{ subject: 'gc.ns.p', kind: 'hello', counter: 1 }]);
    jest.advanceTimersByTime(899);
    expect(h.published).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(h.published[1]).toEqual({ subject: 'gc.ns.p', kind: 'alive', counter: 2 });
    h.announcer.stop();
    jest.advanceTimersByTime(10_000);
    expect(h.published).toHaveLength(2);
  });

  it('waits at most the interval +10%', () => {
    jest.useFakeTimers();
    const h = harness({ random: () => 0.999999 });
    h.announcer.start();
    jest.advanceTimersByTime(1_098);
    expect(h.published).toHaveLength(1);
    jest.advanceTimersByTime(2);
    expect(h.published).toHaveLength(2);
    h.announcer.stop();
  });

  it("answers a start's hello on its inbox at most once per window", () => {
    const h = harness();
    h.announcer.reply(hello('1111111111111111'), 0);
    h.announcer.reply(hello('1111111111111111'), 999);
    h.announcer.reply(hello('2222222222222222'), 999);
    h.announcer.reply(hello('1111111111111111'), 1_000);
    expect(h.published.map(p => `${p.subject} ${p.kind}`)).toEqual([
      'gc.ns.n.1111111111111111 reply',
      'gc.ns.n.2222222222222222 reply',
      'gc.ns.n.1111111111111111 reply',
    ]);
  });

  it('forgets the least recently answered start at its bound', () => {
    const h = harness({ maxReplyTargets: 1 });
    h.announcer.reply(hello('1111111111111111'), 0);
    h.announcer.reply(hello('2222222222222222'), 1);
    h.announcer.reply(hello('1111111111111111'), 2);
    expect(h.published).toHaveLength(3);
  });

  it('publishes nothing while cut off, and nothing throws', () => {
    const h = harness();
    h.link.connected = false;
    h.announcer.hello();
    h.announcer.reply(hello('1111111111111111'), 0);
    expect(h.published).toEqual([]);
    h.link.connected = true;
    h.link.publish = () => {
      throw new Error('dropped');
    };
    expect(() => h.announcer.hello()).not.toThrow();
  });

  it('says leaving once, then nothing more', () => {
    const h = harness();
    h.announcer.leave();
    h.announcer.leave();
    h.announcer.hello();
    h.announcer.reply(hello('1111111111111111'), 0);
    expect(h.published.map(p => p.kind)).toEqual(['leaving']);
  });

  it('binds a reply and an ask to the start they go to, each at most once per window', () => {
    const h = harness();
    h.announcer.reply(hello('00000000000000b1'), 0);
    h.announcer.reply(hello('00000000000000b1'), 500);
    h.announcer.ask(hello('00000000000000b1'), 500);
    h.announcer.ask(hello('00000000000000b1'), 900);
    h.announcer.ask(hello('00000000000000b1'), 1_500);
    expect(h.published).toEqual([
      { subject: 'gc.ns.n.00000000000000b1', kind: 'reply', counter: 1, to: '00000000000000b1' },
      { subject: 'gc.ns.n.00000000000000b1', kind: 'hello', counter: 2, to: '00000000000000b1' },
      { subject: 'gc.ns.n.00000000000000b1', kind: 'hello', counter: 3, to: '00000000000000b1' },
    ]);
  });
});
