import type {
  ChaosEvent,
  ChaosMemory,
  ChaosNode,
  ChaosNodeListener,
  ChaosView,
} from './chaos-node.js';

/** One broken invariant, as the report lists it. */
export interface Violation {
  /** Which invariant: `convergence`, `alternation`, `consistency`, `fd`, `heap`, `crash`, `request`. */
  readonly invariant: string;
  /** Seconds since the run started. */
  readonly atS: number;
  readonly node: string;
  readonly detail: string;
}

/** Output lines that mean a node crashed, leaked or logged a failure the library calls an error. */
const CRASH_LINE =
  /Unhandled|uncaught|FATAL|heap out of memory|MaxListenersExceeded|Possible EventEmitter memory leak|\bERROR\b|CHAOS_WARNING/;

/**
 * Checks, as the nodes report, the invariants that hold at every moment:
 * - (ii) per observer incarnation and peer, `nodeUp` and `nodeDown` strictly alternate, starting
 *   with `nodeUp`; event sequence numbers have no gap (no report was lost);
 * - (iv) no process exits unless the harness killed or stopped it, and no output line reports an
 *   uncaught error, an unhandled rejection, a listener leak warning or an error-level log line;
 * - (v) no request stays pending longer than its timeout plus `requestSlackMs` (a node resumed
 *   from SIGSTOP less than `requestSlackMs` ago is not judged: its timers are overdue).
 * Views, memory reports and per-incarnation event state are kept for the checks at checkpoints.
 */
export class ChaosInvariants implements ChaosNodeListener {
  readonly violations: Violation[] = [];
  readonly events = { nodeUp: 0, nodeDown: 0, byReason: {} as Record<string, number> };
  /** Last memory report per slot index. */
  readonly memoryReports = new Map<number, { incarnation: number; report: ChaosMemory }>();
  /** Per slot: the incarnation the state below belongs to, last event per peer, next seq. */
  private readonly observed = new Map<
    number,
    { incarnation: number; last: Map<string, ChaosEvent['type']>; nextSeq: number }
  >();
  /** Highest pending-request age seen, ms (on the views judged: not just after a SIGCONT). */
  maxPendingMs = 0;
  /** Lines logged at error level or worse, kept for the report (first 50). */
  readonly crashLines: string[] = [];
  private readonly started = performance.now();

  constructor(
    private readonly requestTimeoutMs: number,
    private readonly requestSlackMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Seconds since the run started. */
  elapsedS(): number {
    return Math.round((performance.now() - this.started) / 100) / 10;
  }

  violate(invariant: string, node: string, detail: string): void {
    const violation = { invariant, atS: this.elapsedS(), node, detail };
    this.violations.push(violation);
    this.log(`VIOLATION ${invariant} on ${node} at ${violation.atS} s: ${detail}`);
  }

  event(node: ChaosNode, event: ChaosEvent): void {
    const state = this.stateOf(node);
    if (event.seq !== state.nextSeq)
      this.violate(
        'alternation',
        node.name,
        `event report ${event.seq} follows ${state.nextSeq - 1} (a report is missing)`,
      );
    state.nextSeq = event.seq + 1;
    this.events[event.type]++;
    if (event.type === 'nodeDown') {
      const reason = event.reason ?? 'none';
      this.events.byReason[reason] = (this.events.byReason[reason] ?? 0) + 1;
    }
    const previous = state.last.get(event.node);
    const expected = previous === 'nodeUp' ? 'nodeDown' : 'nodeUp';
    if (event.type !== expected)
      this.violate(
        'alternation',
        node.name,
        `incarnation ${node.incarnation}: ${event.type} ${event.node}` +
          `${event.reason ? ` (${event.reason})` : ''} after ${previous ?? 'no event'}`,
      );
    if (event.node === node.name || !/^n\d+@/.test(event.node))
      this.violate('alternation', node.name, `event about an unexpected node: ${event.node}`);
    state.last.set(event.node, event.type);
  }

  view(node: ChaosNode, view: ChaosView): void {
    const fresh = performance.now() - node.resumedAt > this.requestSlackMs;
    if (!fresh) return;
    this.maxPendingMs = Math.max(this.maxPendingMs, view.oldestPendingMs);
    if (view.oldestPendingMs > this.requestTimeoutMs + this.requestSlackMs)
      this.violate(
        'request',
        node.name,
        `a request has been pending ${view.oldestPendingMs} ms (timeout ${this.requestTimeoutMs} ms)`,
      );
  }

  memory(node: ChaosNode, report: ChaosMemory): void {
    this.memoryReports.set(node.index, { incarnation: node.incarnation, report });
  }

  line(node: ChaosNode, line: string): void {
    if (!CRASH_LINE.test(line)) return;
    if (this.crashLines.length < 50) this.crashLines.push(`${node.name}: ${line}`);
    this.violate('crash', node.name, line.slice(0, 400));
  }

  exited(node: ChaosNode, code: number | null, signal: string | null, expected: boolean): void {
    if (expected) return;
    this.violate(
      'crash',
      node.name,
      `incarnation ${node.incarnation} exited (code ${code}, signal ${signal}) unasked:\n` +
        node.tail(40).join('\n'),
    );
  }

  /**
   * The events of `node`'s current incarnation agree with its view: a peer is a member exactly
   * when its last event was `nodeUp`. Checked once the cluster has converged and held still.
   */
  checkConsistency(node: ChaosNode): void {
    const state = this.stateOf(node);
    const members = new Set(node.lastView?.members ?? []);
    const up = new Set([...state.last].filter(([, type]) => type === 'nodeUp').map(([n]) => n));
    const missing = [...members].filter(n => !up.has(n));
    const extra = [...up].filter(n => !members.has(n));
    if (missing.length > 0 || extra.length > 0)
      this.violate(
        'consistency',
        node.name,
        `members without a last nodeUp: [${missing.join(', ')}]; last nodeUp but not a member: [${extra.join(', ')}]`,
      );
  }

  private stateOf(node: ChaosNode) {
    let state = this.observed.get(node.index);
    if (!state || state.incarnation !== node.incarnation) {
      state = { incarnation: node.incarnation, last: new Map(), nextSeq: 0 };
      this.observed.set(node.index, state);
    }
    return state;
  }
}
