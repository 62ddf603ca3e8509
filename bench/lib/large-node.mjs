// The child side of the `large` section (bench/sections/large-messages.mjs): preloaded with
// `--import` into a bench/child.mjs process, it hosts nodes of this library (from the build) and
// answers the section's own commands over IPC ({ large, rid, args } -> an event
// { ev: 'large-reply', rid, ok, result | error }). bench/child.mjs ignores these messages (they
// carry no `cmd`), and the replies reach the orchestrator as events of the child.
//
// What it measures in this process: 1 KiB requests on a fixed schedule (probe), a flood of large
// Buffer requests (flood), the event-loop delay (monitorEventLoopDelay), nodeDown events and
// deliveries, the duration of sends that are refused, and the msgpack codec's cost on structured
// payloads (with bench/lib/large-codec.mjs).
import { randomFillSync } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { distUrl, payloadOf, percentile, sleep } from './common.mjs';
import { codecTimings, structuredCodec, structuredPayload } from './large-codec.mjs';

const dist = file => import(distUrl(file));
const COOKIE = 'bench-cookie-large-5d1e97a0c4b2';
/** Resolution of the event-loop delay monitor; the figures reported are beyond it. */
const LOOP_RESOLUTION_MS = 10;
const MiB = 1024 * 1024;

/** An event to the orchestrator (a reply is the event `large-reply`). */
const report = event => {
  try {
    process.send?.(event);
  } catch {
    // the orchestrator is gone
  }
};
const reply = message => report({ ev: 'large-reply', ...message });

const quiet = label => ({
  log: () => undefined,
  warn: m => process.stderr.write(`[${label}] warn ${m}\n`),
  error: m => process.stderr.write(`[${label}] error ${m}\n`),
});

/** The nodes this process hosts, by short name (a, b, c; r, s1, s2). */
const nodes = new Map();

/**
 * Starts one node with static discovery: handlers `echo` (the probe), `big` (counts the large
 * payloads and their bytes), `sink` (counts one-way messages); counts nodeDown events per peer.
 */
async function startNode({ id, name, port, peers, dist: distOptions = {}, members }) {
  const { GenCluster, StaticDiscovery, TcpDist } = await dist('index.js');
  const tcp = new TcpDist({ cookie: COOKIE, port, portMapper: false, ...distOptions });
  const cluster = new GenCluster({
    node: name,
    discovery: new StaticDiscovery(peers),
    dist: tcp,
    logger: quiet(name),
  });
  const node = {
    name,
    cluster,
    messaging: tcp.messaging,
    delivered: 0,
    deliveredBytes: 0,
    sunk: 0,
    downs: {},
  };
  cluster.events$.subscribe(e => {
    if (e.type !== 'nodeDown') return;
    node.downs[e.node] = (node.downs[e.node] ?? 0) + 1;
    report({ ev: 'large-down', node: name, peer: e.node, reason: e.reason });
  });
  tcp.messaging.on('echo', p => p);
  tcp.messaging.on('big', p => {
    node.delivered++;
    node.deliveredBytes += p?.byteLength ?? 0;
    return node.delivered;
  });
  tcp.messaging.on('sink', () => {
    node.sunk++;
  });
  await cluster.start();
  if (members) await cluster.waitForMembers(members, { timeoutMs: 30_000 });
  nodes.set(id, node);
  return { port: tcp.port };
}

const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();
const beyond = ns => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);

/** Latency figures of one list of milliseconds. */
function summary(values, errors, firstError) {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    errors,
    firstError,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

let probe = null;

/**
 * 1 KiB requests from node `from` to each of `targets` every `intervalMs`, on a fixed schedule:
 * the latency runs from the time a request was due, so a sender whose loop is held up counts
 * every request it held back (no coordinated omission).
 */
function startProbe({ from, targets, intervalMs, timeoutMs }) {
  if (probe) throw new Error('a probe is already running');
  const { messaging } = nodes.get(from);
  const payload = payloadOf(1024);
  const series = Object.fromEntries(targets.map(t => [t, { values: [], errors: 0 }]));
  const t0 = performance.now();
  let due = 0;
  let outstanding = 0;
  let timer;
  const issue = (target, scheduled) => {
    outstanding++;
    messaging.request(target, 'echo', payload, { timeoutMs }).then(
      () => {
        outstanding--;
        series[target].values.push(performance.now() - scheduled);
      },
      error => {
        outstanding--;
        series[target].errors++;
        series[target].firstError ??= `${error?.code ?? ''} ${error?.message ?? error}`;
      },
    );
  };
  const tick = () => {
    const now = performance.now();
    while (t0 + due * intervalMs <= now) {
      const scheduled = t0 + due * intervalMs;
      due++;
      for (const target of targets) issue(target, scheduled);
    }
    timer = setTimeout(tick, Math.max(0, t0 + due * intervalMs - performance.now()));
  };
  tick();
  probe = {
    async stop(graceMs) {
      clearTimeout(timer);
      const end = performance.now() + graceMs;
      while (outstanding > 0 && performance.now() < end) await sleep(20);
      probe = null;
      const out = {};
      for (const [target, s] of Object.entries(series))
        out[target] = { ...summary(s.values, s.errors, s.firstError), lost: outstanding };
      return out;
    },
  };
  return { started: true };
}

let flood = null;

/**
 * `count` requests of a `bytes`-byte Buffer from `from` to `to` on topic `big`, `inFlight` at a
 * time (each answer lets the next go); a QueueFullError (retryable) is retried after 5 ms.
 */
function startFlood({ from, to, count, bytes, inFlight, timeoutMs }) {
  if (flood) throw new Error('a flood is already running');
  const { messaging } = nodes.get(from);
  const payload = randomFillSync(Buffer.allocUnsafe(bytes));
  const state = { acked: 0, errors: 0, retries: 0, firstError: undefined, callMs: [] };
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      for (;;) {
        try {
          const call = performance.now();
          const answer = messaging.request(to, 'big', payload, { timeoutMs });
          // the synchronous part of the call: encoding and queueing, on this event loop
          state.callMs.push(performance.now() - call);
          await answer;
          state.acked++;
          break;
        } catch (error) {
          if (error?.code === 'ERR_QUEUE_FULL' && state.retries < 100_000) {
            state.retries++;
            await sleep(5);
            continue;
          }
          state.errors++;
          state.firstError ??= `${error?.code ?? ''} ${error?.message ?? error}`.slice(0, 300);
          break;
        }
      }
    }
  };
  const done = Promise.all(Array.from({ length: inFlight }, worker)).then(() => {
    const { callMs, ...rest } = state;
    const sorted = Float64Array.from(callMs).sort();
    return {
      ...rest,
      sent: next,
      durationMs: performance.now() - t0,
      callP50: percentile(sorted, 50),
      callMax: sorted.length ? sorted[sorted.length - 1] : null,
    };
  });
  flood = { done };
  return { started: true };
}

/**
 * Times `calls` sends of `payload` to `to` (each expected to be refused), after one untimed call
 * (the first builds the error class's code paths); returns the durations and the error codes.
 */
function timeRefusals(messaging, to, payload, calls, { warm = true } = {}) {
  const ms = [];
  const codes = new Set();
  for (let i = warm ? -1 : 0; i < calls; i++) {
    const t = performance.now();
    try {
      messaging.send(to, 'sink', payload);
      codes.add('accepted');
    } catch (error) {
      codes.add(error?.code ?? String(error));
    }
    if (i >= 0) ms.push(performance.now() - t);
  }
  return { ms, codes: [...codes] };
}

/** Waits until node `id` has sunk `count` one-way messages, or `ms` passed. */
async function sunk(id, count, ms) {
  const end = performance.now() + ms;
  while (nodes.get(id).sunk < count && performance.now() < end) await sleep(10);
  return nodes.get(id).sunk >= count;
}

/**
 * The nodes of the refused sends, in this process: `r` receives; `s1` has a 16 MiB message
 * limit (a 32 MiB Buffer is over it); `s2` has the default limits.
 */
async function refusalNodes([rPort, s1Port, s2Port]) {
  const r = `r@127.0.0.1:${rPort}`;
  // what is timed here never waits on a peer, but building and encoding the structured payloads
  // holds this loop for seconds on a busy machine: a long failure timeout keeps the links up
  const slow = { failureTimeoutMs: 120_000, transitive: false };
  await startNode({ id: 'r', name: 'r@127.0.0.1', port: rPort, peers: [], dist: slow });
  const sender = { peers: [r], members: 1 };
  await startNode({
    id: 's1',
    name: 's1@127.0.0.1',
    port: s1Port,
    dist: { ...slow, maxMessageBytes: 16 * MiB },
    ...sender,
  });
  await startNode({ id: 's2', name: 's2@127.0.0.1', port: s2Port, dist: slow, ...sender });
}

/** p50, max and count of a list of call durations, with the error codes seen. */
function callFigures({ ms, codes }) {
  const sorted = Float64Array.from(ms).sort();
  return {
    calls: sorted.length,
    p50: percentile(sorted, 50),
    max: sorted[sorted.length - 1],
    codes: [...codes],
  };
}

/**
 * Refused sends of a `bytes`-byte Buffer: from `s1`, over its message limit; from `s2`, to a
 * queue filled with the same Buffers in one event-loop turn (the queue cannot drain before the
 * turn ends), the refusals timed in that same turn. `reps` rounds of `calls` sends each.
 */
async function refusals({ ports, reps, calls, bytes }) {
  await refusalNodes(ports);
  const big = randomFillSync(Buffer.allocUnsafe(bytes));
  const tooLarge = { ms: [], codes: new Set() };
  const full = { ms: [], codes: new Set(), queued: new Set() };
  for (let rep = 0; rep < reps; rep++) {
    const a = timeRefusals(nodes.get('s1').messaging, 'r@127.0.0.1', big, calls);
    tooLarge.ms.push(...a.ms);
    a.codes.forEach(c => tooLarge.codes.add(c));
    const s2 = nodes.get('s2').messaging;
    const before = nodes.get('r').sunk;
    let queued = 0;
    for (; queued < 64; queued++) {
      try {
        s2.send('r@127.0.0.1', 'sink', big);
      } catch (error) {
        if (error?.code !== 'ERR_QUEUE_FULL') throw error;
        break;
      }
    }
    full.queued.add(queued);
    const b = timeRefusals(s2, 'r@127.0.0.1', big, calls);
    full.ms.push(...b.ms);
    b.codes.forEach(c => full.codes.add(c));
    await sunk('r', before + queued, 120_000);
    global.gc?.();
  }
  return {
    tooLarge: callFigures(tooLarge),
    queueFull: { ...callFigures(full), queued: [...full.queued] },
  };
}

/**
 * Refused sends of a structured payload of about `mib` MiB from `s1` (16 MiB message limit, and
 * whatever limit the library puts on structured payloads): a library that knows the size only
 * once it has encoded the payload holds the loop for all of it. Run last: such a call may hold
 * this process's loop long enough for its links to time out.
 */
async function refusedStructured({ mib, reps }) {
  const codec = await structuredCodec();
  const payload = structuredPayload(codec, mib * MiB);
  const all = { ms: [], codes: new Set() };
  for (let i = 0; i < reps; i++) {
    // one call per turn: the links get their heartbeats in between
    const s = timeRefusals(nodes.get('s1').messaging, 'r@127.0.0.1', payload, 1, { warm: false });
    all.ms.push(...s.ms);
    s.codes.forEach(c => all.codes.add(c));
    await sleep(200);
  }
  return { ...callFigures(all), objects: payload.length };
}

/** Whether `s2` (default limits) may send a structured payload of each size to `r`. */
async function structuredSends({ sizesMiB }) {
  const codec = await structuredCodec();
  const out = {};
  for (const mib of sizesMiB) {
    const payload = structuredPayload(codec, mib * MiB);
    const before = nodes.get('r').sunk;
    try {
      nodes.get('s2').messaging.send('r@127.0.0.1', 'sink', payload);
      out[mib] = (await sunk('r', before + 1, 120_000)) ? 'accepted' : 'not delivered';
    } catch (error) {
      out[mib] = `refused: ${error?.code ?? error}`;
    }
  }
  return out;
}

const commands = {
  start: startNode,
  probeStart: startProbe,
  probeStop: ({ graceMs = 35_000 } = {}) => probe?.stop(graceMs) ?? null,
  floodStart: startFlood,
  floodWait: async () => {
    const result = await flood?.done;
    flood = null;
    return result ?? null;
  },
  loopReset: () => {
    loop.reset();
    return { ok: true };
  },
  loopRead: () => ({
    max: beyond(loop.max),
    p99: beyond(loop.percentile(99)),
    mean: beyond(loop.mean),
  }),
  counts: () =>
    Object.fromEntries(
      [...nodes].map(([id, n]) => [
        id,
        { delivered: n.delivered, deliveredBytes: n.deliveredBytes, downs: n.downs },
      ]),
    ),
  members: ({ id }) => nodes.get(id).cluster.nodes().length,
  refusals,
  refusedStructured,
  structured: codecTimings,
  structuredSends,
  stop: async () => {
    await Promise.allSettled([...nodes.values()].map(n => n.cluster.stop()));
    nodes.clear();
    return { ok: true };
  },
};

process.on('message', async message => {
  if (!message || typeof message.large !== 'string') return;
  const { rid, large: cmd, args } = message;
  try {
    const handler = commands[cmd];
    if (!handler) throw new Error(`unknown large-messages command ${cmd}`);
    reply({ rid, ok: true, result: await handler(args ?? {}) });
  } catch (error) {
    reply({ rid, ok: false, error: error?.stack ?? String(error) });
  }
});
