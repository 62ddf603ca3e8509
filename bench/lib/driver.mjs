// Closed-loop request/response driver, shared by every stack: `window` requests in flight, each
// reply issues the next, until the time or the count is up; then the in-flight ones drain.
// Every run is bounded: a hard deadline resolves it even if replies are lost.
import { Reservoir, percentile } from './common.mjs';

export function runRequests(client, { window, ms, maxCount, graceMs = 15_000 }) {
  return new Promise(resolve => {
    const samples = new Reservoir();
    let count = 0;
    let errors = 0;
    let issued = 0;
    let inflight = 0;
    let stopping = false;
    let done = false;
    let firstError;
    const t0 = performance.now();
    const end = t0 + ms;
    const finish = lost => {
      if (done) return;
      done = true;
      clearTimeout(hard);
      const elapsedMs = performance.now() - t0;
      const sorted = samples.sorted();
      resolve({
        count,
        errors,
        lost: lost ? inflight : 0,
        elapsedMs,
        perSecond: (count / elapsedMs) * 1000,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        firstError,
      });
    };
    const hard = setTimeout(() => finish(true), ms + graceMs);
    const one = () => {
      issued++;
      inflight++;
      const started = performance.now();
      const onReply = error => {
        inflight--;
        const t = performance.now();
        if (error) {
          errors++;
          firstError ??= String(error?.message ?? error);
        } else {
          count++;
          samples.add(t - started);
        }
        if (!stopping && (t >= end || issued >= maxCount || errors > 1000)) stopping = true;
        if (!stopping) one();
        else if (inflight === 0) finish(false);
      };
      try {
        client.issue(onReply);
      } catch (error) {
        onReply(error);
      }
    };
    for (let i = 0; i < window; i++) one();
  });
}
