import { Histogram, Registry } from 'prom-client';
import { LatencyHistogram } from './latency-histogram.js';

/** The sample lines of `text`, labels sorted, so two renderings compare line by line. */
function normalized(text: string): string[] {
  return text
    .split('\n')
    .filter(line => line !== '' && !line.startsWith('#'))
    .map(line => {
      const match = /^([^{]+)\{(.*)\} (.*)$/.exec(line);
      if (!match) return line;
      const labels = match[2]!
        .split(/,(?=[a-z_]+=")/)
        .sort()
        .join(',');
      return `${match[1]}{${labels}} ${match[3]}`;
    })
    .sort();
}

describe('LatencyHistogram', () => {
  const bounds = [0.001, 0.01, 1];
  const durations = [0.0002, 0.001, 0.003, 0.5, 0.009, 20, 1];

  it("renders exactly what prom-client's own Histogram renders for the same observations", async () => {
    const ours = new Registry();
    const histogram = new LatencyHistogram('x_seconds', 'help', bounds);
    ours.registerMetric(histogram as never);
    const a = histogram.create({ cluster: 'default', topic: 't' });
    const b = histogram.create({ cluster: 'orders', topic: '_other' });

    const reference = new Registry();
    const theirs = new Histogram({
      name: 'x_seconds',
      help: 'help',
      labelNames: ['cluster', 'topic'],
      buckets: bounds,
      registers: [reference],
    });
    for (const d of durations) {
      a.observe(d);
      theirs.observe({ cluster: 'default', topic: 't' }, d);
    }
    b.observe(0.02);
    theirs.observe({ cluster: 'orders', topic: '_other' }, 0.02);

    expect(normalized(await ours.metrics())).toEqual(normalized(await reference.metrics()));
    expect((await ours.getMetricsAsJSON())[0]).toMatchObject({
      type: 'histogram',
      name: 'x_seconds',
    });
    expect(normalized(await ours.metrics())).toContain(
      'x_seconds_bucket{cluster="default",le="0.01",topic="t"} 4',
    );
  });

  it('zeroes on resetMetrics() and drops a removed series', async () => {
    const registry = new Registry();
    const histogram = new LatencyHistogram('x_seconds', 'help', bounds);
    registry.registerMetric(histogram as never);
    const a = histogram.create({ cluster: 'default', topic: 't' });
    const b = histogram.create({ cluster: 'default', topic: 'u' });
    a.observe(0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('x_seconds_count{cluster="default",topic="t"} 0');
    histogram.remove(b);
    expect(await registry.metrics()).not.toContain('topic="u"');
  });
});
