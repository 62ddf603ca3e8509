// One benchmark process: it hosts one endpoint of one stack (or a cluster node, or the in-process
// engine measurements) and obeys the orchestrator (bench/run.mjs) over IPC. It exits when the
// orchestrator goes away, and after an hour whatever happens.
import { runRequests } from './lib/driver.mjs';
import { now } from './lib/common.mjs';
import { childProcess, serveCommands, usageCommand } from './lib/child-ipc.mjs';

const send = childProcess(process.argv[2] ?? 'child');

const loaders = {
  ours: () => import('./lib/stacks/ours.mjs'),
  raw: () => import('./lib/stacks/raw.mjs'),
  'json-rpc': () => import('./lib/stacks/json-rpc.mjs'),
  moleculer: () => import('./lib/stacks/moleculer.mjs'),
  nest: () => import('./lib/stacks/nest.mjs'),
  'nest-on': () => import('./lib/stacks/ours-nest.mjs').then(m => m.variant('on')),
  'nest-decorated': () => import('./lib/stacks/ours-nest.mjs').then(m => m.variant('decorated')),
  'ours-ms': () => import('./lib/stacks/ours-ms.mjs'),
  'ours-metrics': () =>
    import('./lib/stacks/ours-instrumented.mjs').then(m => m.variant('metrics')),
  'ours-otel-idle': () =>
    import('./lib/stacks/ours-instrumented.mjs').then(m => m.variant('otel-idle')),
  'ours-call': () => import('./lib/stacks/ours-calls.mjs').then(m => m.variant('call')),
  'ours-request': () => import('./lib/stacks/ours-calls.mjs').then(m => m.variant('request')),
  'moleculer-call': () => import('./lib/stacks/moleculer-calls.mjs'),
  nats: () => import('./lib/stacks/ours-nats.mjs'),
  'moleculer-nats': () => import('./lib/stacks/moleculer-nats.mjs'),
};
const stack = name => {
  const load = loaders[name];
  if (!load) throw new Error(`unknown stack ${name}`);
  return load();
};

let client; // the client endpoint of a request/response pair
let node; // a cluster node (ours or moleculer)
let callServer; // a serving node of the calls section

const usage = usageCommand(true);

const commands = {
  /** Imports a stack without starting anything (--parallel-start: the slow part, done at once). */
  async load({ stack: name }) {
    await stack(name);
    return { ok: true };
  },
  async serve({ stack: name, ...args }) {
    return (await stack(name)).serve(args);
  },
  async connect({ stack: name, ...args }) {
    client = await (await stack(name)).connect(args);
    return { ok: true };
  },
  /** A serving node of the calls section (the caller's `rr` then drives the calls). */
  async callServe({ stack: name, ...args }) {
    callServer = await (await stack(name)).serveCalls(args);
    return { port: callServer.port, node: callServer.node };
  },
  async callConnect({ stack: name, ...args }) {
    client = await (await stack(name)).connectCalls(args);
    return { servers: client.servers };
  },
  /** How many calls this serving node has answered so far. */
  served: () => callServer.served(),
  async rr({ size, window, ms, warmMs, maxCount }) {
    client.prepare(size);
    if (warmMs > 0) await runRequests(client, { window, ms: warmMs, maxCount });
    const cpu0 = process.cpuUsage();
    const result = await runRequests(client, { window, ms, maxCount });
    const cpu = process.cpuUsage(cpu0);
    return { ...result, cpuMicros: cpu.user + cpu.system };
  },
  /**
   * Requests until `count` round trips are done or `capMs` has passed, whichever is first: a
   * warm-up by count, so that a slow (or busy) machine still runs the code often enough for the
   * JIT to optimize it before anything is measured.
   */
  async warm({ size, window, count, capMs }) {
    client.prepare(size);
    const t0 = performance.now();
    let done = 0;
    while (done < count && performance.now() - t0 < capMs) {
      const r = await runRequests(client, {
        window,
        ms: Math.min(200, capMs),
        maxCount: count - done,
      });
      done += r.count;
      if (r.count === 0) break; // nothing answers: the measured cells will say so
    }
    return { count: done, elapsedMs: performance.now() - t0 };
  },
  async oneway({ size, ms, warmMs, maxCount }) {
    client.prepare(size);
    if (warmMs > 0) {
      await client.oneway(warmMs, maxCount, size);
      await client.barrier();
    }
    const before = await client.barrier();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const sent = await client.oneway(ms, maxCount, size);
    const after = await client.barrier();
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { sent, received: after - before, elapsedMs, cpuMicros: cpu.user + cpu.system };
  },
  async node({ stack: name, ...args }) {
    const t0 = now();
    node = await (await stack(name)).startNode(args, send);
    return { t0, t: now(), port: node.port };
  },
  async broadcast(args) {
    return (await stack('ours')).broadcast(node, args);
  },
  async many(args) {
    return (await stack('ours')).many(args);
  },
  async refreshScale(args) {
    return (await stack('ours')).refreshScale(args, send);
  },
  usage,
};

serveCommands(commands, send);
