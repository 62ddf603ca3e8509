/**
 * The registry's log lines about peers, rate-limited so that a misbehaving peer cannot flood the
 * log: what a peer did wrong once per node (a day's window), the rest once a minute per node.
 */
import { type ClusterLogger, RateLimitedLog } from '../../core/index.js';
import { PrimitivesMessages } from '../primitives.messages.js';
import { MAX_DELTA_BUFFER, MAX_REGISTRY_ENTRIES, type ParseIssues } from './registry-protocol.js';

/** A day: "once per node" for a peer's misbehaviour. */
const ONCE_MS = 86_400_000;

/** The code of an error, if it has one. */
export const codeOf = (error: unknown): unknown =>
  typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;

const describe = (error: unknown): string =>
  error instanceof Error
    ? `${String(codeOf(error) ?? error.name)}: ${error.message}`
    : String(error);

/** Log lines of the sync, each through the catalog. */
export class RegistryLog {
  private readonly once = new RateLimitedLog(ONCE_MS, 4_096);
  private readonly rare = new RateLimitedLog(60_000, 1_000);

  constructor(private readonly logger: ClusterLogger | undefined) {}

  unaware(node: string): void {
    this.once.write(`unaware|${node}`, PrimitivesMessages.peerUnaware(node), this.debug);
  }

  helloFailed(node: string, error: unknown, retryInMs: number): void {
    const reason = error === undefined ? 'malformed answer' : describe(error);
    this.debug(PrimitivesMessages.helloFailed(node, reason, retryInMs));
  }

  helloInvalid(node: string): void {
    this.rare.write(`badhello|${node}`, PrimitivesMessages.helloInvalid(node), this.warn);
  }

  hrwMismatch(node: string, theirs: number, ours: number): void {
    this.once.write(`hrw|${node}`, PrimitivesMessages.hrwMismatch(node, theirs, ours), this.warn);
  }

  issues(node: string, issues: ParseIssues): void {
    if (issues.tooMany > 0)
      this.once.write(
        `many|${node}`,
        PrimitivesMessages.tooManyEntries(node, MAX_REGISTRY_ENTRIES, issues.tooMany),
        this.warn,
      );
    if (issues.reserved > 0)
      this.once.write(
        `reserved|${node}`,
        PrimitivesMessages.reservedEntries(node, issues.reserved),
        this.warn,
      );
  }

  gap(node: string, expected: number, got: number): void {
    this.debug(PrimitivesMessages.deltaGap(node, expected, got));
  }

  overflow(node: string): void {
    this.debug(PrimitivesMessages.deltaOverflow(node, MAX_DELTA_BUFFER, MAX_REGISTRY_ENTRIES));
  }

  nonMember(node: string): void {
    this.rare.write(`nonmember|${node}`, PrimitivesMessages.deltaFromNonMember(node), this.debug);
  }

  invalidDelta(node: string): void {
    this.rare.write(`invalid|${node}`, PrimitivesMessages.deltaInvalid(node), this.debug);
  }

  refused(node: string, error: unknown, retryInMs: number): void {
    this.rare.write(
      `refused|${node}`,
      PrimitivesMessages.deltaRefused(node, describe(error), retryInMs),
      this.warn,
    );
  }

  private readonly debug = (message: string): void => this.logger?.debug?.(message);
  private readonly warn = (message: string): void => this.logger?.warn(message);
}
