import { CHAOS_TIMINGS, convergenceBoundMs, seededRandom } from '../chaos/chaos-config.js';
import { ChaosInvariants } from '../chaos/chaos-invariants.js';
import type { ChaosEvent, ChaosNode, ChaosView } from '../chaos/chaos-node.js';

/**
 * The chaos soak's checkers catch what they are there to catch (test/chaos): a soak that passes
 * because its checks cannot fail proves nothing. Fed by hand, without processes.
 */
function fakeNode(index: number, incarnation = 0, members: string[] = []): ChaosNode {
  const view: ChaosView = {
    members,
    pending: 0,
    oldestPendingMs: 0,
    sent: 0,
    answered: 0,
    failed: 0,
  };
  return {
    index,
    incarnation,
    name: `n${index}@10.77.0.${index + 1}`,
    lastView: view,
    resumedAt: -Infinity,
    tail: () => ['last line'],
  } as unknown as ChaosNode;
}

const up = (seq: number, node: string): ChaosEvent => ({ seq, type: 'nodeUp', node });
const down = (seq: number, node: string, reason = 'heartbeatTimeout'): ChaosEvent => ({
  seq,
  type: 'nodeDown',
  node,
  reason,
});

describe('chaos soak checkers', () => {
  const peer = 'n1@10.77.0.2';
  let checks: ChaosInvariants;
  beforeEach(() => {
    checks = new ChaosInvariants(3_000, 5_000, () => undefined);
  });
  const kinds = () => checks.violations.map(v => v.invariant);

  it('accepts up/down/up per peer, and starts afresh with a new observer incarnation', () => {
    const observer = fakeNode(0);
    checks.event(observer, up(0, peer));
    checks.event(observer, down(1, peer, 'restarted'));
    checks.event(observer, up(2, peer));
    checks.event(fakeNode(0, 1), up(0, peer));
    expect(checks.violations).toEqual([]);
    expect(checks.events).toEqual({ nodeUp: 3, nodeDown: 1, byReason: { restarted: 1 } });
  });

  it('flags two nodeUp in a row, a nodeDown first, and a missing report', () => {
    const observer = fakeNode(0);
    checks.event(observer, down(0, peer));
    checks.event(observer, up(1, peer));
    checks.event(observer, up(2, peer));
    checks.event(observer, down(4, peer));
    expect(kinds()).toEqual(['alternation', 'alternation', 'alternation']);
  });

  it('flags an exit nobody asked for, an error log line, and a listener leak warning', () => {
    const node = fakeNode(2);
    checks.exited(node, 1, null, true);
    expect(kinds()).toEqual([]);
    checks.exited(node, 1, null, false);
    checks.line(node, '[Nest] 1  - ERROR [GenCluster] Connecting to x crashed');
    checks.line(
      node,
      'stderr: (node:1) MaxListenersExceededWarning: Possible EventEmitter memory leak',
    );
    checks.line(node, '[Nest] 1  - LOG [GenCluster] Node n1 is up.');
    expect(kinds()).toEqual(['crash', 'crash', 'crash']);
  });

  it('flags a request pending past its timeout plus slack, unless the node was just resumed', () => {
    const node = fakeNode(3);
    const stale = { ...node.lastView!, oldestPendingMs: 8_001 };
    checks.view(node, { ...stale, oldestPendingMs: 8_000 });
    expect(kinds()).toEqual([]);
    checks.view({ ...node, resumedAt: performance.now() } as ChaosNode, stale);
    expect(kinds()).toEqual([]);
    checks.view(node, stale);
    expect(kinds()).toEqual(['request']);
  });

  it('flags a view that disagrees with the last events', () => {
    const node = fakeNode(0, 0, [peer, 'n2@10.77.0.3']);
    checks.event(node, up(0, peer));
    checks.checkConsistency(node);
    expect(kinds()).toEqual(['consistency']);
  });

  it('bounds convergence by failure timeout + backoff max with jitter + handshake deadline + observation', () => {
    const { failureTimeoutMs, backoff, handshakeTotalTimeoutMs, connectTimeoutMs } = CHAOS_TIMINGS;
    expect(convergenceBoundMs()).toBe(
      failureTimeoutMs +
        backoff.maxMs * (1 + backoff.jitter) +
        Math.max(handshakeTotalTimeoutMs, connectTimeoutMs) +
        500,
    );
  });

  it('draws the same fault schedule from the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const first = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(first);
    expect(Array.from({ length: 5 }, seededRandom(43))).not.toEqual(first);
  });
});
