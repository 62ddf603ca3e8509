import { stopAll } from '../support/nodes.js';
import { type AskResult, type PayloadNode, startPayloadNodes } from '../support/payload-nodes.js';

/**
 * Issue 12, payload amplification (scenario 33), with three real processes: a peer that sends
 * raw msgpack which would decode into millions of objects (8 MiB, over the structured limit, and
 * 2 MiB, within it) is answered with an error and crashes nobody; an ordinary sender of a sparse
 * array of length 10^8 gets an error at once. No node sees a nodeDown.
 */
describe('payload amplification across three processes', () => {
  let a: PayloadNode;
  let b: PayloadNode;
  let c: PayloadNode;

  beforeAll(async () => {
    // a is the hostile sender: its codec sends the bytes it is given
    [a, b, c] = await startPayloadNodes('amp', ['127.0.0.21', '127.0.0.22', '127.0.0.23'], [true]);
  }, 60_000);
  afterAll(stopAll);

  const ask = (from: PayloadNode, to: PayloadNode, kind: string, oneway = false) =>
    from.get<AskResult>(`/ask?to=${to.name}&kind=${kind}${oneway ? '&oneway=1' : ''}`);

  it('answers amplifying requests with an error, and drops amplifying messages, without a crash or a nodeDown', async () => {
    expect(await ask(a, b, 'amplify8')).toMatchObject({
      ok: false,
      code: 'ERR_REMOTE_HANDLER',
      remoteCode: 'ERR_PAYLOAD_TOO_LARGE',
    });
    for (const kind of ['amplify2', 'arrays2'])
      expect(await ask(a, b, kind)).toMatchObject({
        ok: false,
        code: 'ERR_REMOTE_HANDLER',
        remoteCode: 'ERR_PAYLOAD_TOO_COSTLY',
      });
    // one-way: queued by the sender, dropped (and logged) by the receiver
    for (const kind of ['amplify8', 'amplify2']) {
      expect(await ask(a, b, kind, true)).toMatchObject({ ok: true });
      expect(await ask(a, c, kind, true)).toMatchObject({ ok: true });
    }
    // the receivers still answer, the link is the same
    expect(await ask(a, b, 'small')).toMatchObject({ ok: true });
    expect(await ask(a, c, 'small')).toMatchObject({ ok: true });
    for (const node of [a, b, c]) {
      expect(node.process.exitCode).toBeUndefined();
      expect((await node.state()).downs).toEqual({});
    }
  }, 120_000);

  it('refuses a sparse array at the sender at once, request or one-way, without a nodeDown', async () => {
    for (const oneway of [false, true]) {
      const result = await ask(b, c, 'sparse', oneway);
      expect(result).toMatchObject({ ok: false, code: 'ERR_PAYLOAD_TOO_LARGE' });
      expect(result.message).toMatch(/Buffer/);
      // generous window for shared cores; an encoding of it took 7-11 s before issue 12
      expect(result.ms).toBeLessThan(2_000);
    }
    expect(await ask(b, c, 'small')).toMatchObject({ ok: true });
    for (const node of [a, b, c]) {
      expect(node.process.exitCode).toBeUndefined();
      expect((await node.state()).downs).toEqual({});
    }
  }, 60_000);
});
