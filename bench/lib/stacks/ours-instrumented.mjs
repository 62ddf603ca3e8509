// This library as ours.mjs runs it, with instrumentation attached in both processes (issue 15):
// - metrics: ClusterMetrics.attach from the ./metrics entry on a private prom-client Registry
//   (engine, messaging and dist sources; the per-topic latency histogram on), never scraped during
//   the run, as between two Prometheus scrapes;
// - otel-idle: @opentelemetry/api loaded and the ./otel entry's createTracingInstrumentation()
//   hooks installed, with NO tracer provider registered: the cost of tracing 'auto' in an app that
//   never set up OpenTelemetry.
// Imported from the build (dist/src, or BENCH_DIST).
import { distUrl, messagingClient } from '../common.mjs';
import { startNode } from './ours.mjs';

const entry = async (name, needs) => {
  try {
    return await import(distUrl(name, 'index.js'));
  } catch (error) {
    throw new Error(
      `the build in ${distUrl()} has no usable ./${name} entry, or ${needs} is not installed (run "npm run build", or leave the stack out with --stacks): ${error.message}`,
    );
  }
};

/** Attaches the variant's instrumentation to a started node of ours.mjs. */
const instrumentations = {
  async metrics(node) {
    const { ClusterMetrics } = await entry('metrics', 'prom-client');
    const { Registry } = await import('prom-client');
    ClusterMetrics.attach(
      { cluster: 'default', engine: node.cluster, messaging: node.dist.messaging, dist: node.dist },
      { registry: new Registry() },
    );
  },
  async 'otel-idle'(node) {
    const { createTracingInstrumentation } = await entry('otel', '@opentelemetry/api');
    node.dist.messaging.instrument(createTracingInstrumentation());
  },
};

/** The pair of ours.mjs with `kind`'s instrumentation on the server and the client. */
export function variant(kind) {
  const instrument = instrumentations[kind];
  if (!instrument) throw new Error(`unknown instrumented variant ${kind}`);
  // Names of their own: every pair runs at once, each node registered with the port mapper.
  const SERVER = `srv-${kind}@127.0.0.1`;
  return {
    async serve() {
      const node = await startNode({ name: SERVER });
      await instrument(node);
      return { port: node.port, node: node.name };
    },
    async connect({ port }) {
      const node = await startNode({ name: `cli-${kind}@127.0.0.1`, peers: [`${SERVER}:${port}`] });
      await instrument(node);
      await node.cluster.waitForMembers(1, { timeoutMs: 15_000 });
      return messagingClient(node.dist.messaging, SERVER, () => node.cluster.stop());
    },
  };
}
