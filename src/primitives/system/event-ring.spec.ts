import { EventRing } from './event-ring.js';

const at = new Date('2026-01-02T03:04:05.000Z');

describe('EventRing', () => {
  it('numbers events from 1 and keeps an error as its message only', () => {
    const ring = new EventRing(10, () => at);
    expect(ring.seq).toBe(0);
    ring.record({ type: 'nodeUp', node: 'b@h', peer: { node: 'b@h' } });
    const error = new Error('refused: bad cookie');
    const failed = ring.record({
      type: 'connectFailed',
      node: 'c@h',
      error,
      attempt: 1,
      retryInMs: 100,
    });
    expect(failed).toEqual({
      seq: 2,
      at: at.toISOString(),
      type: 'connectFailed',
      node: 'c@h',
      message: 'refused: bad cookie',
    });
    expect(JSON.stringify(ring.since(0))).not.toContain('at ');
    expect(ring.record({ type: 'nodeDown', node: 'b@h', reason: 'left' })).toMatchObject({
      seq: 3,
      reason: 'left',
    });
    expect(
      ring.record({ type: 'discoveryError', error: new Error('dns'), consecutive: 2 }),
    ).toEqual({ seq: 4, at: at.toISOString(), type: 'discoveryError', message: 'dns' });
  });

  it('is bounded, and says when a page has a gap', () => {
    const ring = new EventRing(3, () => at);
    for (let i = 0; i < 5; i++) ring.record({ type: 'lost', node: `n${i}@h` });
    expect(ring.since(0)).toMatchObject({ seq: 5, gap: true });
    expect(ring.since(0).events.map(e => e.seq)).toEqual([3, 4, 5]);
    expect(ring.since(2)).toMatchObject({ gap: false });
    expect(ring.since(1)).toMatchObject({ gap: true });
    expect(ring.since(5)).toEqual({ seq: 5, events: [], gap: false });
    expect(ring.recent(2).map(e => e.seq)).toEqual([4, 5]);
    expect(ring.recent(0)).toEqual([]);
  });

  it('reads a since ahead of its count (the node restarted) or not a number as 0', () => {
    const ring = new EventRing(10, () => at);
    ring.record({ type: 'lost', node: 'a@h' });
    expect(ring.since(99).events).toHaveLength(1);
    expect(ring.since(Number.NaN).events).toHaveLength(1);
    expect(ring.since(-1).events).toHaveLength(1);
  });
});
