import type {
  DiscoveryStrategy,
  DistContext,
  DistStrategy,
  NodeDownReason,
  Peer,
} from '../core/index.js';

type ConnectOutcome = boolean | 'ignored' | 'hang' | Error;

/**
 * A discovery whose answer the test sets: a list, an error, or a lookup that never answers. For
 * tests of code that drives a cluster through its edge cases (discovery failures, hangs).
 * @publicApi
 */
export class TestDiscovery implements DiscoveryStrategy {
  readonly name = 'test';
  answer: readonly (string | Peer)[] | Error | 'hang' = [];
  calls = 0;
  closed = false;
  lastSignal: AbortSignal | undefined;

  constructor(initial: readonly (string | Peer)[] = []) {
    this.answer = initial;
  }

  peers(signal: AbortSignal): Promise<readonly (string | Peer)[]> {
    this.calls++;
    this.lastSignal = signal;
    const answer = this.answer;
    if (answer === 'hang') return new Promise(() => undefined);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer);
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * A scripted dist without messaging: `connect` succeeds, fails or hangs per node as the test
 * says, and connected nodes are reported through the context like a real dist would. For tests of
 * the scheduler's behaviour; {@link InMemoryNetwork} is the dist for tests of an application.
 * @publicApi
 */
export class TestDist implements DistStrategy {
  readonly name = 'test';
  readonly connected = new Map<string, Peer>();
  readonly connectCalls: string[] = [];
  readonly disconnectCalls: string[] = [];
  outcome: (node: string) => ConnectOutcome = () => true;
  /** Whether nodeUp/nodeDown are pushed; a passive dist only answers members(). */
  push = true;
  context: DistContext | undefined;
  left = false;
  closed = false;
  inFlight = 0;
  maxInFlight = 0;

  init(context: DistContext): void {
    this.context = context;
  }

  members(): Peer[] {
    return [...this.connected.values()];
  }

  async connect(peer: Peer, signal: AbortSignal): Promise<boolean | 'ignored'> {
    this.connectCalls.push(peer.node);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const outcome = this.outcome(peer.node);
      if (outcome === 'hang') {
        return await new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        });
      }
      await Promise.resolve();
      if (outcome instanceof Error) throw outcome;
      if (outcome === true) this.up(peer);
      return outcome;
    } finally {
      this.inFlight--;
    }
  }

  async disconnect(peer: Peer): Promise<boolean> {
    this.disconnectCalls.push(peer.node);
    this.down(peer.node, 'disconnected');
    return true;
  }

  /** Simulates a connection coming up (an inbound connect, or a transitive one). */
  up(peer: Peer): void {
    this.connected.set(peer.node, peer);
    if (this.push) this.context?.nodeUp(peer);
  }

  /** Simulates a connection lost. */
  down(node: string, reason: NodeDownReason = 'connectionClosed'): void {
    if (!this.connected.delete(node)) return;
    if (this.push) this.context?.nodeDown(node, reason);
  }

  async leave(): Promise<void> {
    this.left = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const node of [...this.connected.keys()]) this.down(node, 'stopped');
  }
}
