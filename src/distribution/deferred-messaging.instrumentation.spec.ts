import { A, B, MemoryNetwork } from '../../test/support/messaging-harness.js';
import type { OutgoingMessageInfo } from '../core/index.js';
import { DeferredMessaging } from './deferred-messaging.js';

const notStarted = () => new Error('not started');

describe('DeferredMessaging instrumentation', () => {
  let network: MemoryNetwork;

  beforeEach(() => (network = new MemoryNetwork()));
  afterEach(() => network.close());

  it("reads zero stats before attach and the started layer's after", async () => {
    const messaging = new DeferredMessaging(notStarted);
    expect(messaging.stats).toEqual({
      messagesSent: 0,
      bytesSent: 0,
      messagesReceived: 0,
      bytesReceived: 0,
      requests: { ok: 0, remoteError: 0, timeout: 0, nodeDown: 0, other: 0 },
      inFlight: 0,
      serving: 0,
    });
    messaging.attach(network.add(A));
    network.add(B).on('echo', value => value);
    await messaging.request(B, 'echo', 1);
    expect(messaging.stats.messagesSent).toBe(1);
    expect(messaging.stats.requests.ok).toBe(1);
  });

  it('attaches hooks given before attach with it; removal works before and after attach', async () => {
    const messaging = new DeferredMessaging(notStarted);
    const seen: string[] = [];
    const hooks = (name: string) => ({
      outgoing: (info: OutgoingMessageInfo) => void seen.push(`${name} ${info.topic}`),
    });
    const removedEarly = messaging.instrument(hooks('early-removed'));
    const kept = messaging.instrument(hooks('early'));
    removedEarly();
    messaging.attach(network.add(A));
    const late = messaging.instrument(hooks('late'));
    network.add(B).on('echo', value => value);
    await messaging.request(B, 'echo', 1);
    expect(seen).toEqual(['early echo', 'late echo']);
    kept();
    late();
    await messaging.request(B, 'echo', 2);
    expect(seen).toHaveLength(2);
  });

  it('refuses what is not a set of hooks before attach too', () => {
    const messaging = new DeferredMessaging(notStarted);
    expect(() => messaging.instrument(42 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
  });
});
