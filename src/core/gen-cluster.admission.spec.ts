import { jest } from '@jest/globals';
import type { GenClusterOptions } from './gen-cluster.js';
import type { LinkAdmission } from './link-admission.js';
import type { Peer } from './peer.js';
import { advance, setupEngine } from '../../test/support/engine-harness.js';
import { flushPromises } from '../../test/support/wait.js';

const A = 'a@10.0.0.2';
const B = 'b@10.0.0.3';
const NEW = 'new@10.0.0.9';

/** An engine under `policy`, started, with the admission it hands its dist. */
async function started(options: Partial<GenClusterOptions> = {}, peers = [A, B]) {
  const engine = setupEngine({ refreshIntervalMs: 1_000, ...options }, peers);
  await engine.cluster.start();
  await flushPromises();
  const admission = engine.dist.context!.admission as LinkAdmission;
  return { ...engine, admission };
}

describe('GenCluster link admission', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('admits every node under the default "keep" policy, without a refresh', async () => {
    const { cluster, discovery, admission } = await started();
    expect(admission.admits('stranger@10.0.0.99')).toBe(true);
    await expect(admission.admit('stranger@10.0.0.99')).resolves.toBe(true);
    expect(discovery.calls).toBe(1);
    await cluster.stop();
  });

  it('under "disconnect" admits only discovered nodes, in any spelling, until they leave discovery and again once listed', async () => {
    const { cluster, discovery, admission } = await started({ removalPolicy: 'disconnect' });
    expect(admission.admits(A)).toBe(true);
    expect(admission.admits('a@10.0.0.2:4370')).toBe(true);
    expect(admission.admits('stranger@10.0.0.99')).toBe(false);
    expect(admission.admits('not a node')).toBe(false);
    discovery.answer = [B];
    await advance(1_000);
    expect(admission.admits(A)).toBe(false);
    discovery.answer = new Error('SERVFAIL'); // a failed lookup keeps the last good answer
    await advance(1_000);
    expect([admission.admits(A), admission.admits(B)]).toEqual([false, true]);
    discovery.answer = [A, B];
    await advance(1_000);
    expect(admission.admits(A)).toBe(true);
    await cluster.stop();
  });

  it('refreshes once for an undiscovered node before refusing it, and admits a new node that refresh lists', async () => {
    const { cluster, discovery, admission } = await started({ removalPolicy: 'disconnect' });
    discovery.answer = [A, B, NEW]; // the new pod is in DNS, the interval has not passed
    await expect(admission.admit(NEW)).resolves.toBe(true);
    expect(discovery.calls).toBe(2);
    await cluster.stop();
  });

  it('rate-limits those refreshes to one per refresh interval, shared by every check meanwhile', async () => {
    const { cluster, discovery, admission } = await started({
      removalPolicy: 'disconnect',
      refreshIntervalMs: 10_000,
    });
    const checks = Array.from({ length: 20 }, () => admission.admit('gone@10.0.0.8'));
    await expect(Promise.all(checks)).resolves.toEqual(Array(20).fill(false));
    expect(discovery.calls).toBe(2); // the first refresh, and one for all 20 checks
    await advance(5_000);
    await expect(admission.admit('gone@10.0.0.8')).resolves.toBe(false);
    expect(discovery.calls).toBe(2); // within the window: answered from the last lookup
    await advance(5_000); // the window (and the regular interval) passed
    const callsAfterInterval = discovery.calls;
    await expect(admission.admit('gone@10.0.0.8')).resolves.toBe(false);
    expect(discovery.calls).toBe(callsAfterInterval + 1);
    await cluster.stop();
  });

  it('waits for a lookup that starts after the check, not one already in flight', async () => {
    let answer: (peers: string[]) => void = () => undefined;
    const { cluster, admission, discovery } = await started({ removalPolicy: 'disconnect' });
    discovery.peers = () => {
      discovery.calls++;
      return new Promise<readonly (string | Peer)[]>(resolve => (answer = resolve));
    };
    await advance(1_000); // a regular lookup is in flight, asked before the new pod existed
    expect(discovery.calls).toBe(2);
    const check = admission.admit(NEW);
    answer([A, B]); // the in-flight lookup answers without the new pod
    await flushPromises();
    expect(discovery.calls).toBe(3); // the follow-up the check asked for
    answer([A, B, NEW]);
    await expect(check).resolves.toBe(true);
    await cluster.stop();
  });

  it('answers false when the caller gives up or the cluster stops before the refresh answers', async () => {
    const { cluster, admission, discovery } = await started({ removalPolicy: 'disconnect' });
    discovery.answer = 'hang';
    const controller = new AbortController();
    const abandoned = admission.admit(NEW, controller.signal);
    controller.abort();
    await expect(abandoned).resolves.toBe(false);
    await advance(1_000); // the next window
    const stopping = admission.admit('other@10.0.0.7');
    const stopped = cluster.stop();
    await expect(stopping).resolves.toBe(false);
    await stopped;
    await expect(admission.admit(NEW)).resolves.toBe(false);
  });

  it('does not let in a node removed after it was admitted: the check at link-up time fails', async () => {
    const { cluster, discovery, admission, dist } = await started({ removalPolicy: 'disconnect' });
    await expect(admission.admit(A)).resolves.toBe(true);
    dist.down(A); // the link drops, and the node leaves discovery before it dials back
    discovery.answer = [B];
    await advance(1_000);
    expect(admission.admits(A)).toBe(false);
    await expect(admission.admit(A)).resolves.toBe(false);
    expect(cluster.nodes()).toEqual([B]);
    await cluster.stop();
  });
});
