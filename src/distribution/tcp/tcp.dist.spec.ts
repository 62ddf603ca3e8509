import { MAX_TIMER_MS } from '../../core/index.js';
import { DEFAULT_TCP_DIST_OPTIONS, TcpDist, type TcpDistOptions } from './tcp.dist.js';

/** Constructs a dist with a cookie (so no cookie file is touched) and `options`. */
const make = (options: TcpDistOptions) => () => new TcpDist({ cookie: 'c', ...options });

/** What `new TcpDist(options)` threw: its code, the option it names and its message. */
function refusal(options: TcpDistOptions): { code?: string; message: string } | undefined {
  try {
    make(options)();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  return undefined;
}

describe('TcpDist options', () => {
  const durations = [
    'heartbeatMs',
    'failureTimeoutMs',
    'handshakeStepTimeoutMs',
    'handshakeTotalTimeoutMs',
    'requestTimeoutMs',
  ] as const;

  // Node fires a timer set beyond 2^31-1 ms after 1 ms: such a heartbeat would be a storm.
  it.each(durations)('refuses %s above the timer maximum', option => {
    // failureTimeoutMs must stay above heartbeatMs, so the other one is kept in range
    const extra: TcpDistOptions =
      option === 'heartbeatMs' ? { failureTimeoutMs: MAX_TIMER_MS } : {};
    const error = refusal({ ...extra, [option]: MAX_TIMER_MS + 1 });
    expect(error?.code).toBe('ERR_INVALID_CONFIG');
    expect(error?.message).toContain(option);
    expect(error?.message).toContain(String(MAX_TIMER_MS + 1));
  });

  it('refuses a TLS handshake deadline above the timer maximum', () => {
    const error = refusal({ tls: { handshakeTimeoutMs: MAX_TIMER_MS + 1 } });
    expect(error?.code).toBe('ERR_INVALID_CONFIG');
    expect(error?.message).toContain('tls.handshakeTimeoutMs');
  });

  it('refuses the timer overflow reported in the review (heartbeat 3e9, failure 3.5e9)', () => {
    expect(make({ heartbeatMs: 3e9, failureTimeoutMs: 3.5e9 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
  });

  it('tells whether it connects as a hidden node (leadership never counts one eligible)', () => {
    expect(make({})().hidden).toBe(false);
    expect(make({ hidden: true })().hidden).toBe(true);
  });

  it('has a default queue bound that holds two messages of the default maximum size', () => {
    expect(DEFAULT_TCP_DIST_OPTIONS.maxQueueBytes).toBeGreaterThanOrEqual(
      2 * DEFAULT_TCP_DIST_OPTIONS.maxMessageBytes,
    );
    expect(make({})).not.toThrow();
  });

  it('derives an unset queue bound from the message limit, and accepts two messages exactly', () => {
    expect(make({ maxMessageBytes: 256 * 1024 * 1024 })).not.toThrow();
    expect(make({ maxMessageBytes: 1_024, maxQueueBytes: 2_048 })).not.toThrow();
  });

  it('takes maxStructuredPayloadBytes up to maxMessageBytes and refuses more, naming it', () => {
    expect(make({ maxStructuredPayloadBytes: 1_024, maxMessageBytes: 1_024 })).not.toThrow();
    expect(make({ maxMessageBytes: 1_024 })).not.toThrow(); // the 2 MiB default is capped
    const error = refusal({ maxStructuredPayloadBytes: 2_048, maxMessageBytes: 1_024 });
    expect(error?.code).toBe('ERR_INVALID_CONFIG');
    expect(error?.message).toContain('maxStructuredPayloadBytes');
    expect(refusal({ maxStructuredPayloadBytes: 0 })?.code).toBe('ERR_INVALID_CONFIG');
  });

  it('refuses a minReceiveBytesPerSecond that is not a positive integer', () => {
    for (const value of [0, -1, 1.5, Number.NaN]) {
      const error = refusal({ minReceiveBytesPerSecond: value });
      expect(error?.code).toBe('ERR_INVALID_CONFIG');
      expect(error?.message).toContain('minReceiveBytesPerSecond');
    }
    expect(make({ minReceiveBytesPerSecond: 1 })).not.toThrow();
  });

  it('refuses a portMapperBind that is not an IP address', () => {
    const error = refusal({ portMapperBind: 'eth0' });
    expect(error?.code).toBe('ERR_INVALID_CONFIG');
    expect(error?.message).toContain('portMapperBind');
    expect(make({ portMapperBind: '0.0.0.0' })).not.toThrow();
  });

  it.each(durations)('accepts %s at the timer maximum', option => {
    const extra: TcpDistOptions =
      option === 'heartbeatMs'
        ? { heartbeatMs: MAX_TIMER_MS - 1, failureTimeoutMs: MAX_TIMER_MS }
        : option === 'failureTimeoutMs'
          ? { failureTimeoutMs: MAX_TIMER_MS }
          : { [option]: MAX_TIMER_MS };
    expect(make(extra)).not.toThrow();
  });

  it.each(durations.flatMap(option => [0, -1, 1.5, Number.NaN, '1000'].map(v => [option, v])))(
    'refuses %s = %p',
    (option, value) => {
      expect(refusal({ [option]: value } as TcpDistOptions)?.code).toBe('ERR_INVALID_CONFIG');
    },
  );

  const rows: [string, TcpDistOptions, RegExp][] = [
    ['a port above 65535', { port: 65_536 }, /port/],
    ['a negative port', { port: -1 }, /port/],
    ['a fractional port', { port: 1.5 }, /port/],
    ['a zero port mapper port', { portMapperPort: 0 }, /portMapperPort/],
    ['a port mapper port above 65535', { portMapperPort: 70_000 }, /portMapperPort/],
    ['a portMapper that is not a boolean or "auto"', { portMapper: 'yes' as 'auto' }, /portMapper/],
    [
      'a failure timeout equal to the heartbeat',
      { heartbeatMs: 1_000, failureTimeoutMs: 1_000 },
      /failureTimeoutMs.*heartbeatMs/,
    ],
    [
      'a failure timeout below the heartbeat',
      { heartbeatMs: 2_000, failureTimeoutMs: 1_000 },
      /failureTimeoutMs/,
    ],
    ['a frame limit below 1 KiB', { maxFrameBytes: 1_023 }, /maxFrameBytes/],
    ['a frame limit above 16 MiB', { maxFrameBytes: 16 * 1024 * 1024 + 1 }, /maxFrameBytes/],
    ['a zero message limit', { maxMessageBytes: 0 }, /maxMessageBytes/],
    ['a zero queue byte bound', { maxQueueBytes: 0 }, /maxQueueBytes/],
    [
      'a queue byte bound below two messages of the limit',
      { maxMessageBytes: 1_024, maxQueueBytes: 2_047 },
      /maxQueueBytes.*2 × maxMessageBytes \(2048\)/,
    ],
    [
      'a queue byte bound below two messages of the default limit',
      { maxQueueBytes: 64 * 1024 * 1024 },
      /maxQueueBytes/,
    ],
    ['a fractional queue message bound', { maxQueueMessages: 2.5 }, /maxQueueMessages/],
    ['a zero handshake cap', { maxPendingHandshakes: 0 }, /maxPendingHandshakes/],
    [
      'a zero per-address handshake cap',
      { maxPendingHandshakesPerIp: 0 },
      /maxPendingHandshakesPerIp/,
    ],
    ['a count above the 32-bit maximum', { maxQueueMessages: 2 ** 31 }, /maxQueueMessages/],
    ['a bind address that is not an IP', { bind: 'localhost' }, /bind/],
    ['an empty cookie', { cookie: '' }, /cookie/],
  ];

  it.each(rows)('refuses %s with ERR_INVALID_CONFIG naming the option', (_, options, named) => {
    const error = refusal(options);
    expect(error?.code).toBe('ERR_INVALID_CONFIG');
    expect(error?.message).toMatch(named);
  });

  it('refuses a cookie that is not a string without quoting it', () => {
    const error = refusal({ cookie: 123_456_789 as unknown as string });
    expect(error?.code).toBe('ERR_INVALID_CONFIG');
    expect(error?.message).toMatch(/cookie/);
    expect(error?.message).not.toContain('123456789');
  });

  it('accepts the defaults, an ephemeral port and the edges of each range', () => {
    expect(make({})).not.toThrow();
    expect(
      make({
        port: 0,
        portMapperPort: 65_535,
        portMapper: true,
        maxFrameBytes: 1024,
        maxQueueMessages: 1,
        bind: '::1',
      }),
    ).not.toThrow();
    expect(
      make({ port: 65_535, maxFrameBytes: 16 * 1024 * 1024, portMapper: false }),
    ).not.toThrow();
  });
});
