import { createClusterLogger } from './cluster-logger.js';
import { ConnectFailureReport, isPersistentRefusal } from './connect-failure-report.js';
import { ConnectError, GenClusterError } from './errors.js';

const PEER = 'b@10.0.0.2';
const refused = () =>
  new ConnectError(`Could not connect to ${PEER} at 10.0.0.2:4370: connect ECONNREFUSED.`, {
    node: PEER,
  });
const badCookie = () =>
  new GenClusterError('ERR_BAD_COOKIE', `Node ${PEER} refused the connection: bad cookie.`);

/** A report on a clock the test moves, with its lines as parsed JSON. */
function report(
  options = { persistentAfterMs: 30_000, persistentAfterAttempts: 3, summaryIntervalMs: 60_000 },
) {
  let now = 0;
  const lines: Record<string, unknown>[] = [];
  const logger = createClusterLogger({
    level: 'verbose',
    format: 'json',
    write: line => void lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const subject = new ConnectFailureReport(logger, options, () => now);
  return {
    subject,
    lines,
    at: (ms: number) => {
      now = ms;
    },
    levels: () => lines.map(l => `${l.level as string} ${l.event as string}`),
  };
}

describe('ConnectFailureReport', () => {
  it('keeps the failed dials of a peer that starts or restarts at debug, and says nothing when it connects', () => {
    const { subject, at, levels } = report();
    for (const [i, t] of [0, 1_000, 3_000, 7_000].entries()) {
      at(t);
      subject.failed(PEER, i + 1, refused(), 1_000);
    }
    at(9_000);
    subject.connected(PEER);
    expect(levels()).toEqual(Array(4).fill('debug connectFailed'));
  });

  it('warns once a peer has failed for 30 s and 3 attempts, then summarises once per interval', () => {
    const { subject, at, lines, levels } = report();
    const times = [0, 1_000, 3_000, 7_000, 15_000, 30_000, 45_000, 60_000, 75_000, 90_000];
    for (const [i, t] of times.entries()) {
      at(t);
      subject.failed(PEER, i + 1, refused(), 15_000);
    }
    expect(levels()).toEqual([
      ...Array(5).fill('debug connectFailed'),
      'warn connectFailing', // 30 s, 6 attempts
      'debug connectFailed',
      'debug connectFailed',
      'debug connectFailed',
      'warn connectStillFailing', // 60 s after the first warning
    ]);
    expect(lines[5]).toMatchObject({
      peer: PEER,
      reason: 'ERR_CONNECT_FAILED',
      attempts: 6,
      failingForMs: 30_000,
    });
    expect(lines[5]!.message).toBe(
      `Cannot connect to ${PEER}: Could not connect to ${PEER} at 10.0.0.2:4370: connect ECONNREFUSED (6 attempts in a row over 30 s; retrying in the background, a summary follows while it lasts).`,
    );
    expect(lines[9]!.message).toBe(
      `Still failing to connect to ${PEER}: 10 attempts over 90 s, last error: Could not connect to ${PEER} at 10.0.0.2:4370: connect ECONNREFUSED.`,
    );
  });

  it('needs both the time and the attempts: one slow attempt after a long quiet is not persistent', () => {
    const { subject, at, levels } = report();
    at(0);
    subject.failed(PEER, 1, refused(), 1_000);
    at(60_000);
    subject.failed(PEER, 2, refused(), 2_000);
    at(62_000);
    subject.failed(PEER, 3, refused(), 4_000);
    expect(levels()).toEqual(['debug connectFailed', 'debug connectFailed', 'warn connectFailing']);
  });

  it('warns at the first refused handshake (a wrong cookie), and at log when the peer recovers', () => {
    const { subject, at, lines, levels } = report();
    at(0);
    subject.failed(PEER, 1, badCookie(), 1_000);
    at(1_000);
    subject.failed(PEER, 2, badCookie(), 2_000);
    at(80_000);
    subject.connected(PEER);
    expect(levels()).toEqual([
      'warn connectFailing',
      'debug connectFailed',
      'log connectRecovered',
    ]);
    expect(lines[0]).toMatchObject({ reason: 'ERR_BAD_COOKIE', attempts: 1 });
    expect(lines[0]!.message).toMatch(/bad cookie \(first attempt; retrying in the background/);
    expect(lines[2]!.message).toBe(
      `Connected to ${PEER} again after 2 failed attempt(s) over 80 s.`,
    );
    // a new streak starts from scratch
    at(90_000);
    subject.failed(PEER, 1, refused(), 1_000);
    expect(levels().at(-1)).toBe('debug connectFailed');
  });

  it('ends a reported failure with a line when the peer leaves discovery, and forgets quietly otherwise', () => {
    const { subject, at, lines, levels } = report();
    at(0);
    subject.failed(PEER, 1, badCookie(), 1_000);
    subject.failed('c@10.0.0.3', 1, refused(), 1_000);
    at(5_000);
    subject.forget(PEER);
    subject.forget('c@10.0.0.3');
    subject.connected(PEER);
    expect(levels()).toEqual([
      'warn connectFailing',
      'debug connectFailed',
      'log connectAbandoned',
    ]);
    expect(lines[2]!.message).toBe(
      `Stopped trying to connect to ${PEER}: it left discovery after 1 failed attempt(s) over 5 s.`,
    );
  });

  it('tells refusals that no retry fixes from failures of a peer going away', () => {
    const tls = (reason: string) =>
      Object.assign(new GenClusterError('ERR_TLS_HANDSHAKE', 'TLS failed'), { reason });
    expect(isPersistentRefusal(badCookie())).toBe(true);
    expect(isPersistentRefusal(new GenClusterError('ERR_NAMESPACE_MISMATCH', 'ns'))).toBe(true);
    expect(isPersistentRefusal(new GenClusterError('ERR_NAME_MISMATCH', 'name'))).toBe(true);
    expect(isPersistentRefusal(tls('untrusted-certificate'))).toBe(true);
    expect(isPersistentRefusal(tls('closed'))).toBe(false);
    expect(isPersistentRefusal(tls('timeout'))).toBe(false);
    expect(isPersistentRefusal(new GenClusterError('ERR_DUPLICATE_NODE_NAME', 'dup'))).toBe(false);
    expect(isPersistentRefusal(new GenClusterError('ERR_HANDSHAKE_TIMEOUT', 't'))).toBe(false);
    expect(isPersistentRefusal(refused())).toBe(false);
  });
});
