import { jest } from '@jest/globals';
import { DiscoveryLookup, canonicalPeers } from './discovery-lookup.js';
import type { DiscoveryError } from './errors.js';
import type { ClusterLogger } from './logger.js';
import { CoreMessages } from './messages.js';
import type { Peer } from './peer.js';
import type { DiscoveryStrategy } from './strategy.js';

const SELF = 'self@10.0.0.1';

function lookup(peers: DiscoveryStrategy['peers'], timeoutMs = 1_000) {
  const warnings: string[] = [];
  const lines: string[] = [];
  const failures: [DiscoveryError, number][] = [];
  const stopping = new AbortController();
  const logger: ClusterLogger = {
    log: message => lines.push(`log ${message}`),
    warn: message => {
      warnings.push(message);
      lines.push(`warn ${message}`);
    },
    error: () => undefined,
    debug: message => lines.push(`debug ${message}`),
  };
  const subject = new DiscoveryLookup(
    { name: 'test', peers },
    {
      self: SELF,
      timeoutMs,
      stopping: stopping.signal,
      logger,
      failed: (error, consecutive) => failures.push([error, consecutive]),
    },
  );
  return { subject, warnings, failures, stopping, lines };
}

describe('DiscoveryLookup', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers the canonical peers, without self', async () => {
    const { subject, failures } = lookup(() => ['a@10.0.0.2', SELF, { node: 'b@10.0.0.3' }]);
    await expect(subject.peers()).resolves.toEqual([
      { node: 'a@10.0.0.2' },
      { node: 'b@10.0.0.3' },
    ]);
    expect(failures).toEqual([]);
  });

  it('gives up at the timeout with ERR_DISCOVERY_TIMEOUT and aborts the lookup', async () => {
    let signal: AbortSignal | undefined;
    const { subject, failures, warnings } = lookup(s => {
      signal = s;
      return new Promise<never>(() => undefined);
    }, 300);
    const answer = subject.peers();
    await jest.advanceTimersByTimeAsync(300);
    await expect(answer).resolves.toBeUndefined();
    expect(signal?.aborted).toBe(true);
    expect(failures).toHaveLength(1);
    expect(failures[0]![0]).toMatchObject({
      code: 'ERR_DISCOVERY_TIMEOUT',
      message: CoreMessages.discoveryTimeout('test', 300),
    });
    expect(warnings).toEqual([CoreMessages.discoveryTimeout('test', 300)]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('ends at once and unreported on stop, even when the discovery ignores its signal', async () => {
    const { subject, failures, stopping } = lookup(() => new Promise<never>(() => undefined));
    const answer = subject.peers();
    stopping.abort(new Error('stopping'));
    await expect(answer).resolves.toBeUndefined();
    expect(failures).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('counts failures in a row and starts over after an answer', async () => {
    let answer: unknown = new Error('SERVFAIL');
    const { subject, failures } = lookup(() => {
      if (answer instanceof Error) throw answer;
      return answer as string[];
    });
    await subject.peers();
    answer = 'not a list';
    await subject.peers();
    answer = [];
    await expect(subject.peers()).resolves.toEqual([]);
    answer = new Error('SERVFAIL');
    await subject.peers();
    expect(failures.map(([, consecutive]) => consecutive)).toEqual([1, 2, 1]);
    expect(failures.map(([error]) => error.code)).toEqual([
      'ERR_DISCOVERY_FAILED',
      'ERR_DISCOVERY_FAILED',
      'ERR_DISCOVERY_FAILED',
    ]);
    expect(failures[0]![0].message).toBe(
      CoreMessages.discoveryFailed('test', new Error('SERVFAIL')),
    );
    expect(failures[1]![0].message).toBe(CoreMessages.discoveryNotAnArray('test', 'string'));
  });
});

describe('DiscoveryLookup health', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('has nothing to say before the first lookup', () => {
    const { subject } = lookup(() => []);
    expect(subject.health()).toEqual({
      lastDiscoveryOkAgoMs: undefined,
      consecutiveDiscoveryErrors: 0,
      lastDiscoveryError: undefined,
      discoveryFailingForMs: undefined,
    });
  });

  it('times the last answer and the current run of failures on the monotonic clock', async () => {
    let answer: Error | string[] = new Error('SERVFAIL');
    const { subject } = lookup(() => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
    await subject.peers();
    await jest.advanceTimersByTimeAsync(2_000);
    await subject.peers();
    await jest.advanceTimersByTimeAsync(500);
    // never answered: the failures count from the first one
    expect(subject.health()).toEqual({
      lastDiscoveryOkAgoMs: undefined,
      consecutiveDiscoveryErrors: 2,
      lastDiscoveryError: CoreMessages.discoveryFailed('test', new Error('SERVFAIL')),
      discoveryFailingForMs: 2_500,
    });
    answer = [];
    await subject.peers();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(subject.health()).toEqual({
      lastDiscoveryOkAgoMs: 1_000,
      consecutiveDiscoveryErrors: 0,
      lastDiscoveryError: undefined,
      discoveryFailingForMs: undefined,
    });
    answer = new Error('REFUSED');
    await subject.peers();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(subject.health()).toMatchObject({
      lastDiscoveryOkAgoMs: 4_000,
      consecutiveDiscoveryErrors: 1,
      lastDiscoveryError: CoreMessages.discoveryFailed('test', new Error('REFUSED')),
      discoveryFailingForMs: 3_000,
    });
  });

  it('does not count a lookup ended by the stop', async () => {
    const { subject, stopping } = lookup(() => new Promise<never>(() => undefined));
    const answer = subject.peers();
    stopping.abort(new Error('stopping'));
    await answer;
    expect(subject.health().consecutiveDiscoveryErrors).toBe(0);
  });
});

describe('DiscoveryLookup warnings', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A lookup that fails with `answer` when it is an error, as a DNS error with a code would. */
  function failing() {
    let answer: Error | string[] = dnsError('ESERVFAIL');
    const subject = lookup(() => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
    return { ...subject, set: (next: Error | string[]) => (answer = next) };
  }

  function dnsError(code: string): Error {
    return Object.assign(new Error(`queryA ${code} my-svc`), { code });
  }

  it('warns of the first failure at once, then at most once a minute with the count held back, and logs the recovery', async () => {
    const { subject, lines, failures, set } = failing();
    const message = CoreMessages.discoveryFailed('test', dnsError('ESERVFAIL'));
    for (let second = 0; second < 150; second++) {
      await subject.peers();
      await jest.advanceTimersByTimeAsync(1_000);
    }
    expect(failures).toHaveLength(150); // every failure is still reported as an event
    const warned = lines.filter(l => l.startsWith('warn '));
    expect(warned).toEqual([
      `warn ${message}`,
      `warn ${CoreMessages.discoveryStillFailing('test', 60, 61, 60_000, new Error(message))}`,
      `warn ${CoreMessages.discoveryStillFailing('test', 60, 121, 120_000, new Error(message))}`,
    ]);
    expect(lines.filter(l => l.startsWith('debug '))).toHaveLength(147);
    set([]);
    await subject.peers();
    expect(lines.at(-1)).toBe(`log ${CoreMessages.discoveryRecovered('test', 150, 150_000)}`);
    // a new run of failures is news again: warned at once
    set(dnsError('ESERVFAIL'));
    await subject.peers();
    expect(lines.at(-1)).toBe(`warn ${message}`);
  });

  it('warns at once of the first failure of another kind', async () => {
    const { subject, lines, set } = failing();
    await subject.peers();
    await jest.advanceTimersByTimeAsync(1_000);
    await subject.peers();
    set(dnsError('ETIMEOUT'));
    await subject.peers();
    expect(lines.map(l => l.split(' ')[0])).toEqual(['warn', 'debug', 'warn']);
    expect(lines.at(-1)).toContain('ETIMEOUT');
  });
});

describe('canonicalPeers', () => {
  it('keeps one peer per node, preferring the first entry with a port, and skips the unusable', () => {
    const skipped: Error[] = [];
    const peers = canonicalPeers(
      [
        'a@[0:0:0:0:0:0:0:1]',
        { node: 'a@::1', port: 4000 },
        'a@[::1]:5000',
        'not a node',
        SELF,
      ] as (string | Peer)[],
      SELF,
      error => skipped.push(error),
    );
    expect(peers).toEqual([{ node: 'a@::1', port: 4000 }]);
    expect(skipped).toHaveLength(1);
  });
});
