/**
 * Leadership terms (D6): a fencing token that grows along agreed views. With a service registry,
 * a node that becomes leader takes one more than the highest term it has seen and announces it as
 * a registry entry of kind `term` (withdrawing its previous one); a leader that learns a higher
 * term takes a new one again. The highest term seen is kept here, so a term does not go back
 * when its holder goes down and its entry leaves the registry. Without a registry the term counts
 * leadership changes seen by this node, from 1.
 */
import type { Subscription } from 'rxjs';
import type { ServiceRegistry } from '../registry/service-registry.js';

/** What terms need of the registry. */
export type TermRegistry = Pick<
  ServiceRegistry,
  'announce' | 'withdraw' | 'names' | 'nodesOf' | 'entries$'
>;

/** Options of {@link LeadershipTerms}. */
export interface LeadershipTermsOptions {
  /** This node's name. */
  readonly self: string;
  /** Where terms are announced; local counting without one. */
  readonly registry: TermRegistry | undefined;
  /** Another node announced `term`, higher than this node's own one. */
  readonly onHigher: (term: number, node: string) => void;
}

/** The form of a term entry's name: a decimal integer from 1, without leading zeros. */
const TERM_NAME = /^[1-9][0-9]{0,15}$/;

/** The term an entry name stands for, or `undefined` when it is not one (a peer's bad entry). */
export function parseTerm(name: string): number | undefined {
  if (!TERM_NAME.test(name)) return undefined;
  const term = Number(name);
  return Number.isSafeInteger(term) ? term : undefined;
}

/** This node's view of leadership terms; see the file comment. */
export class LeadershipTerms {
  /** The term this node announces (it leads, or led last). */
  private own: number | undefined;
  private highest = 0;
  /** Without a registry: the leadership changes seen here. */
  private local = 0;
  private subscription: Subscription | undefined;

  constructor(private readonly options: LeadershipTermsOptions) {}

  /** Starts following the registry's term entries. */
  start(): void {
    const { registry, self } = this.options;
    if (registry === undefined || this.subscription !== undefined) return;
    this.seenAll();
    this.subscription = registry.entries$.subscribe(change => {
      if (change.node === self) return;
      for (const entry of change.added) {
        if (entry.kind !== 'term') continue;
        const term = parseTerm(entry.name);
        if (term === undefined) continue;
        this.highest = Math.max(this.highest, term);
        if (this.own !== undefined && term > this.own) this.options.onHigher(term, change.node);
      }
    });
  }

  /** The leader changed to `leader` (`undefined`: none). Takes a new term when it is this node. */
  leaderChanged(leader: string | undefined): void {
    if (leader === undefined) return;
    if (leader === this.options.self) this.take();
    else if (this.options.registry === undefined) this.local++;
  }

  /**
   * Takes a new term: one more than any seen, announced in place of this node's previous one.
   * @returns the new term
   */
  take(): number {
    const { registry } = this.options;
    if (registry === undefined) {
      this.local++;
      this.own = this.local;
      return this.own;
    }
    this.seenAll();
    const term = this.highest + 1;
    try {
      if (this.own !== undefined) registry.withdraw('term', String(this.own));
      registry.announce('term', String(term));
    } catch {
      // only when this node holds as many entries as a peer keeps (10,000): the term stays
      // local, peers read 0 for it; leadership itself must not fail on it
    }
    this.own = term;
    this.highest = term;
    return term;
  }

  /** The term of `leader`: this node's own, the one it announces, or 0 when unknown or none. */
  termOf(leader: string | undefined): number {
    const { registry, self } = this.options;
    if (leader === undefined) return 0;
    if (leader === self) return this.own ?? 0;
    if (registry === undefined) return this.local;
    let term = 0;
    for (const name of registry.names('term')) {
      const value = parseTerm(name);
      if (value !== undefined && value > term && registry.nodesOf('term', name).includes(leader))
        term = value;
    }
    return term;
  }

  /** Stops following the registry. */
  close(): void {
    this.subscription?.unsubscribe();
  }

  private seenAll(): void {
    for (const name of this.options.registry?.names('term') ?? []) {
      const term = parseTerm(name);
      if (term !== undefined) this.highest = Math.max(this.highest, term);
    }
  }
}
