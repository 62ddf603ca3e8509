import { A, B, MemoryNetwork, thrown } from '../../../test/support/messaging-harness.js';
import { until } from '../../../test/support/wait.js';
import { InvalidTopicError } from './messaging.errors.js';
import { RESERVED_TOPIC_PREFIX, checkTopic, defineTopic, topicName } from './topic.js';

describe('topics', () => {
  describe('the reserved prefix', () => {
    let net: MemoryNetwork;
    beforeEach(() => {
      net = new MemoryNetwork();
    });
    afterEach(() => net.close());

    it('is refused to on() and subscribe() with reason "reserved", naming the prefix', () => {
      const b = net.add(B);
      const topic = `${RESERVED_TOPIC_PREFIX}registry.sync`;
      for (const register of [
        () => b.on(topic, () => 1),
        () => b.subscribe(topic, () => 1),
        () => b.on(topic, () => 1, {}),
        () => b.subscribe(topic, () => 1, { internal: false }),
      ]) {
        const error = thrown(register);
        expect(error).toBeInstanceOf(InvalidTopicError);
        expect(error).toMatchObject({ code: 'ERR_INVALID_TOPIC', reason: 'reserved', topic });
        expect(error.message).toContain(`"${RESERVED_TOPIC_PREFIX}"`);
      }
      // only the prefix itself is reserved
      expect(() => b.on('gc.registry', () => 1)).not.toThrow();
      expect(() => b.on('x$gc.y', () => 1)).not.toThrow();
    });

    it('is allowed to the library with { internal: true }, and to senders', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const topic = `${RESERVED_TOPIC_PREFIX}ping`;
      const seen: unknown[] = [];
      b.on(topic, payload => payload, { internal: true });
      b.subscribe(topic, payload => void seen.push(payload), { internal: true });
      await expect(a.request(B, topic, 'pong')).resolves.toBe('pong');
      a.send(B, topic, 'note');
      expect(a.broadcast(topic, 'all')).toBe(1);
      await until(() => seen.length === 2, 5_000, 'subscriber of the internal topic');
      expect(seen).toEqual(['note', 'all']);
    });

    it('keeps reason "form" for a malformed topic', () => {
      const b = net.add(B);
      expect(thrown(() => b.on('', () => 1))).toMatchObject({ reason: 'form' });
      expect(thrown(() => b.subscribe('x'.repeat(2000), () => 1))).toMatchObject({
        reason: 'form',
      });
    });
  });

  describe('checkTopic', () => {
    it('refuses non-strings, empty and over-long topics as "form"', () => {
      for (const topic of [undefined, 42, '', 'é'.repeat(600)])
        expect(thrown(() => checkTopic(topic))).toMatchObject({
          code: 'ERR_INVALID_TOPIC',
          reason: 'form',
        });
      expect(() => checkTopic('a'.repeat(1024))).not.toThrow();
    });

    it('refuses the reserved prefix unless allowReserved', () => {
      expect(thrown(() => checkTopic('$gc.x'))).toMatchObject({ reason: 'reserved' });
      expect(() => checkTopic('$gc.x', { allowReserved: true })).not.toThrow();
    });
  });

  describe('defineTopic', () => {
    it('returns a frozen topic carrying its name', () => {
      const prices = defineTopic<{ sku: string }, number>('prices.get');
      expect(prices).toEqual({ name: 'prices.get' });
      expect(Object.isFrozen(prices)).toBe(true);
      expect(topicName(prices)).toBe('prices.get');
      expect(topicName('plain')).toBe('plain');
    });

    it('checks the name now: a bad or reserved name throws InvalidTopicError', () => {
      expect(thrown(() => defineTopic(''))).toMatchObject({ reason: 'form' });
      expect(thrown(() => defineTopic('$gc.leader'))).toMatchObject({ reason: 'reserved' });
    });
  });
});
