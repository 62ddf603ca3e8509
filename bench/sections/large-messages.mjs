// Section `large`: large Buffer payloads beside small requests (issue 12, "Large messages";
// scenarios 10, 36 and 37 of the reliability research). Three processes A, B and C of this
// library (one node each, static discovery, default options):
// 1. unloaded: 1 KiB requests from A to B and to C on a fixed schedule, p50/p99, and each node's
//    largest event-loop delay;
// 2. the flood: A requests B with N Buffer payloads of S bytes, 2 in flight, while the 1 KiB
//    requests go on: their p99 against the unloaded one, each node's largest event-loop delay,
//    the messages B received and the nodeDown events every node saw (a settle time after the
//    flood included, so a late false nodeDown counts);
// then, in one more process:
// 3. refused sends: how long a send that is refused takes (a 32 MiB Buffer over the message
//    limit; a 32 MiB Buffer to a full queue; a structured payload over the limit);
// 4. structured payloads: msgpack encode and decode time per MiB of an array of small objects.
// The child side is bench/lib/large-node.mjs (with large-codec.mjs), preloaded into
// bench/child.mjs processes.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, freePorts, sizeLabel } from '../lib/common.mjs';
import { loadAverage } from '../lib/machine.mjs';
import { REFUSAL_CASES } from '../lib/options.mjs';
import { startChild, stopAll } from '../lib/procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const agent = pathToFileURL(join(here, '..', 'lib', 'large-node.mjs')).href;
const MiB = 1024 * 1024;
/** What the issue asks for; a run with other figures says so. */
export const FULL_FLOOD = { messages: 100, bytes: 32 * MiB, inFlight: 2 };

let nextRid = 1;

/** Sends a command of bench/lib/large-node.mjs to `child` and waits for its answer. */
async function ask(child, cmd, args, timeoutMs = 60_000) {
  const rid = nextRid++;
  child.proc.send({ large: cmd, rid, args });
  const exited = child.exit.then(() => 'exited');
  const answer = await Promise.race([
    child.waitEvent(e => e.ev === 'large-reply' && e.rid === rid, timeoutMs),
    exited,
  ]);
  if (answer === 'exited')
    throw new Error(`${child.label} exited during ${cmd}: ${child.stderr.join('').slice(-800)}`);
  if (!answer) throw new Error(`${child.label}: ${cmd} timed out after ${timeoutMs} ms`);
  if (!answer.ok) throw new Error(`${child.label}: ${cmd}: ${answer.error}`);
  return answer.result;
}

/** Starts a child with the agent preloaded; its nodeDown events are shown as they come. */
async function startAgent(ctx, label) {
  const child = await startChild(label, { flags: ['--import', agent] });
  child.listeners.add(e => {
    if (e.ev === 'large-down')
      ctx.progress(`large     ${e.node}: nodeDown ${e.peer} (${e.reason})`);
  });
  return child;
}
const load = () => loadAverage().join(' / ');

/** Starts A, B and C and waits until each sees the two others. */
async function startTrio(ctx) {
  const ports = await freePorts(3);
  const ids = ['a', 'b', 'c'];
  const names = ids.map(id => `${id}@127.0.0.1`);
  const peers = names.map((name, i) => `${name}:${ports[i]}`);
  const children = [];
  for (const id of ids) children.push(await startAgent(ctx, `ours-large-${id}`));
  await Promise.all(
    children.map((child, i) =>
      ask(child, 'start', { id: ids[i], name: names[i], port: ports[i], peers, members: 2 }),
    ),
  );
  ctx.progress('large     A, B and C connected');
  return { children, names, byId: Object.fromEntries(ids.map((id, i) => [id, children[i]])) };
}

/** 1 KiB requests from A to B and C for `ms`; the event-loop delay of every node meanwhile. */
async function probeFor(trio, ms, { intervalMs }) {
  const [, b, c] = trio.names;
  await Promise.all(trio.children.map(child => ask(child, 'loopReset')));
  await ask(trio.byId.a, 'probeStart', {
    from: 'a',
    targets: [b, c],
    intervalMs,
    timeoutMs: 30_000,
  });
  await new Promise(resolve => setTimeout(resolve, ms));
  const latency = await ask(trio.byId.a, 'probeStop', {}, 60_000);
  const loops = await Promise.all(trio.children.map(child => ask(child, 'loopRead')));
  return { latency, loops, load: load() };
}

/** The flood, with the probe running, then the settle time and the counts. */
async function floodWithProbe(ctx, trio, f) {
  const [, b, c] = trio.names;
  const { config } = ctx;
  await Promise.all(trio.children.map(child => ask(child, 'loopReset')));
  const loadAtStart = load();
  await ask(trio.byId.a, 'probeStart', {
    from: 'a',
    targets: [b, c],
    intervalMs: config.largeProbeIntervalMs,
    timeoutMs: 30_000,
  });
  await ask(trio.byId.a, 'floodStart', {
    from: 'a',
    to: b,
    count: f.messages,
    bytes: f.bytes,
    inFlight: f.inFlight,
    timeoutMs: 120_000,
  });
  const flood = await ask(trio.byId.a, 'floodWait', {}, f.messages * 30_000 + 60_000);
  const latency = await ask(trio.byId.a, 'probeStop', {}, 60_000);
  const loops = await Promise.all(trio.children.map(child => ask(child, 'loopRead')));
  ctx.progress(
    `large     flood done in ${fmt(flood.durationMs / 1000, 1)} s; waiting ${config.largeSettleMs / 1000} s for late nodeDown events`,
  );
  await new Promise(resolve => setTimeout(resolve, config.largeSettleMs));
  const counts = await Promise.all(trio.children.map(child => ask(child, 'counts')));
  const loadNote = `load average ${loadAtStart} when the flood started, ${load()} after`;
  return { flood, latency, loops, counts: Object.assign({}, ...counts), loadNote };
}

/** Records of the unloaded run and of the flood. */
function recordFlood(ctx, trio, f, unloaded, loaded) {
  const { sample } = ctx;
  const [, b, c] = trio.names;
  const paths = { 'A→B': b, 'A→C': c };
  const floodParams = { messages: f.messages, payloadBytes: f.bytes, inFlight: f.inFlight };
  const { loadNote } = loaded;
  const ratios = {};
  for (const [path, node] of Object.entries(paths)) {
    const base = unloaded.latency[node];
    const during = loaded.latency[node];
    const params = { path, payloadBytes: 1024 };
    sample('large-unloaded', 'ours', 'p50_latency', 'ms', params, base.p50);
    sample('large-unloaded', 'ours', 'p99_latency', 'ms', params, base.p99).notes.push(
      `load average ${unloaded.load}`,
    );
    sample('large-flood', 'ours', 'p50_latency', 'ms', { ...params, ...floodParams }, during.p50);
    const rec = sample(
      'large-flood',
      'ours',
      'p99_latency',
      'ms',
      { ...params, ...floodParams },
      during.p99,
    );
    rec.notes.push(loadNote);
    if (during.errors || during.lost)
      rec.notes.push(`${during.errors} errors, ${during.lost} lost: ${during.firstError ?? ''}`);
    ratios[path] = { base: base.p99, during: during.p99 };
  }
  const ab = ratios['A→B'];
  const ac = ratios['A→C'];
  sample(
    'large-flood',
    'ours',
    'p99_ab_over_allowance',
    'ratio',
    floodParams,
    ab.during != null && ab.base != null ? ab.during / (4 * ab.base + 50) : null,
  );
  sample(
    'large-flood',
    'ours',
    'p99_ac_over_unloaded',
    'ratio',
    floodParams,
    ac.during != null && ac.base ? ac.during / ac.base : null,
  );
  let falseDowns = 0;
  ['A', 'B', 'C'].forEach((label, i) => {
    const id = label.toLowerCase();
    const params = { node: label };
    sample('large-unloaded', 'ours', 'max_event_loop_delay', 'ms', params, unloaded.loops[i].max);
    sample(
      'large-flood',
      'ours',
      'max_event_loop_delay',
      'ms',
      { ...params, ...floodParams },
      loaded.loops[i].max,
    );
    const downs = Object.values(loaded.counts[id]?.downs ?? {}).reduce((s, n) => s + n, 0);
    falseDowns += downs;
    sample('large-flood', 'ours', 'node_down', 'events', { ...params, ...floodParams }, downs);
    sample(
      'large-flood',
      'ours',
      'delivered',
      'messages',
      { ...params, ...floodParams },
      loaded.counts[id]?.delivered ?? 0,
    );
  });
  const delivered = loaded.counts.b?.delivered ?? 0;
  sample('large-flood', 'ours', 'undelivered', 'messages', floodParams, f.messages - delivered);
  sample('large-flood', 'ours', 'false_node_down', 'events', floodParams, falseDowns);
  const fl = loaded.flood;
  const rec = sample('large-flood', 'ours', 'flood_duration', 'ms', floodParams, fl.durationMs);
  rec.notes.push(loadNote);
  if (fl.errors) rec.notes.push(`${fl.errors} errors: ${fl.firstError}`);
  if (fl.retries) rec.notes.push(`${fl.retries} ERR_QUEUE_FULL retried`);
  sample(
    'large-flood',
    'ours',
    'payload_megabytes_per_s',
    'MB/s',
    floodParams,
    (delivered * f.bytes) / 1e6 / (fl.durationMs / 1000),
  );
  sample('large-flood', 'ours', 'request_call_p50', 'ms', floodParams, fl.callP50);
  sample('large-flood', 'ours', 'request_call_max', 'ms', floodParams, fl.callMax);
  return { falseDowns, delivered };
}

/** Parts 1 and 2: the three processes, unloaded then flooded. */
async function floodPart(ctx) {
  const { config } = ctx;
  const f = {
    messages: config.largeMessages,
    bytes: config.largeBytes,
    inFlight: config.largeInFlight,
  };
  const reduced =
    f.messages !== FULL_FLOOD.messages ||
    f.bytes !== FULL_FLOOD.bytes ||
    f.inFlight !== FULL_FLOOD.inFlight;
  let trio;
  try {
    trio = await startTrio(ctx);
    // warm up the probe path (connections, JIT) before the unloaded figures
    await probeFor(trio, Math.min(1_000, config.largeBaselineMs), {
      intervalMs: config.largeProbeIntervalMs,
    });
    ctx.progress(
      `large     unloaded: 1 KiB requests A→B and A→C for ${config.largeBaselineMs / 1000} s (load average ${load()})`,
    );
    const unloaded = await probeFor(trio, config.largeBaselineMs, {
      intervalMs: config.largeProbeIntervalMs,
    });
    ctx.progress(
      `large     flood: ${f.messages} × ${sizeLabel(f.bytes)} Buffer requests A→B, ${f.inFlight} in flight${reduced ? ` (reduced: the issue's figure is ${FULL_FLOOD.messages} × ${sizeLabel(FULL_FLOOD.bytes)})` : ''} (load average ${load()})`,
    );
    const loaded = await floodWithProbe(ctx, trio, f);
    const { falseDowns, delivered } = recordFlood(ctx, trio, f, unloaded, loaded);
    const [, b, c] = trio.names;
    const line = (path, node) =>
      `${path} p50 ${fmt(unloaded.latency[node].p50, 2)} → ${fmt(loaded.latency[node].p50, 2)} ms, p99 ${fmt(unloaded.latency[node].p99, 2)} → ${fmt(loaded.latency[node].p99, 2)} ms`;
    ctx.progress(
      `large     1 KiB requests unloaded → during the flood: ${line('A→B', b)}; ${line('A→C', c)}`,
    );
    ctx.progress(
      `large     max event-loop delay unloaded → flood: ${['A', 'B', 'C'].map((n, i) => `${n} ${fmt(unloaded.loops[i].max, 1)} → ${fmt(loaded.loops[i].max, 1)} ms`).join(', ')}`,
    );
    ctx.progress(
      `large     delivered ${delivered}/${f.messages}, nodeDown ${falseDowns}, request call (encode + queue) p50 ${fmt(loaded.flood.callP50, 1)} ms max ${fmt(loaded.flood.callMax, 1)} ms, ${fmt((delivered * f.bytes) / 1e6 / (loaded.flood.durationMs / 1000), 0)} MB/s (load average ${load()})`,
    );
  } finally {
    await stopAll(trio?.children ?? [], ctx.grace(2_000));
  }
}

/** Part 4: msgpack encode and decode of structured payloads; `sends` says which were accepted. */
function recordStructured(ctx, sizes, sends) {
  for (const s of sizes) {
    const mib = (s.encodedBytes ?? s.mib * MiB) / MiB;
    const params = { payloadMiB: s.mib, objects: s.objects, encodedBytes: s.encodedBytes };
    ctx.sample('large-structured', 'ours', 'encode_ms', 'ms', params, s.encodeMs);
    ctx.sample('large-structured', 'ours', 'decode_ms', 'ms', params, s.decodeMs);
    ctx.sample('large-structured', 'ours', 'encode_ms_per_mib', 'ms/MiB', params, s.encodeMs / mib);
    const rec = ctx.sample(
      'large-structured',
      'ours',
      'decode_ms_per_mib',
      'ms/MiB',
      params,
      s.decodeMs / mib,
    );
    if (s.refused) rec.notes.push(`codec refused: ${s.refused}`);
    rec.notes.push(`send: ${sends[s.mib]}`, `load average ${load()}`);
    ctx.progress(
      `large     structured ${fmt(mib, 2)} MiB (${s.objects} objects): encode ${fmt(s.encodeMs, 1)} ms (${fmt(s.encodeMs / mib, 1)} ms/MiB), decode ${fmt(s.decodeMs, 1)} ms (${fmt(s.decodeMs / mib, 1)} ms/MiB); send: ${sends[s.mib]}${s.refused ? `; codec refused: ${s.refused}` : ''}`,
    );
  }
}

/** Part 3: one refused-send figure. */
function recordRefusal(ctx, kind, payloadBytes, figures, notes = []) {
  const params = { case: kind, payloadBytes };
  ctx.sample('large-refused', 'ours', 'call_p50', 'ms', params, figures.p50);
  const rec = ctx.sample('large-refused', 'ours', 'call_max', 'ms', params, figures.max);
  ctx.sample('large-refused', 'ours', 'calls', 'calls', params, figures.calls);
  rec.notes.push(`error ${figures.codes.join(', ')}`, ...notes, `load average ${load()}`);
  ctx.progress(
    `large     refused send, ${kind}, ${sizeLabel(payloadBytes)}: p50 ${fmt(figures.p50, 3)} ms, max ${fmt(figures.max, 3)} ms over ${figures.calls} calls (${figures.codes.join(', ')})`,
  );
}

/**
 * Parts 3 and 4, in one more process: the codec timings first (no node there yet), then the
 * nodes r, s1 and s2 for the refused sends, the structured sends, and last the refused
 * structured send (it may hold the loop long enough for the links to time out).
 */
async function costPart(ctx) {
  const { config } = ctx;
  let child;
  try {
    child = await startAgent(ctx, 'ours-large-cost');
    ctx.progress(`large     structured payloads: msgpack encode/decode (load average ${load()})`);
    const sizes = await ask(
      child,
      'structured',
      { sizesMiB: config.largeStructuredMiB, reps: config.largeStructuredReps },
      600_000,
    );
    ctx.progress(`large     refused sends (load average ${load()})`);
    const r = await ask(
      child,
      'refusals',
      {
        ports: await freePorts(3),
        reps: config.largeRefusalReps,
        calls: config.largeRefusalCalls,
        bytes: 32 * MiB,
      },
      600_000,
    );
    recordRefusal(ctx, REFUSAL_CASES.tooLarge, 32 * MiB, r.tooLarge);
    recordRefusal(ctx, REFUSAL_CASES.queueFull, 32 * MiB, r.queueFull, [
      `queue filled with ${r.queueFull.queued.join('/')} messages`,
    ]);
    const sends = await ask(
      child,
      'structuredSends',
      { sizesMiB: config.largeStructuredMiB },
      600_000,
    );
    recordStructured(ctx, sizes, sends);
    if (config.largeRefusedStructuredMiB > 0) {
      const mib = config.largeRefusedStructuredMiB;
      const s = await ask(child, 'refusedStructured', { mib, reps: 2 }, 600_000);
      recordRefusal(ctx, REFUSAL_CASES.structured, mib * MiB, s, [`${s.objects} objects`]);
    }
  } finally {
    await stopAll([child], ctx.grace(2_000));
  }
}

/**
 * Runs the `large` section when it was asked for.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  if (!ctx.options.sections.has('large') || !ctx.options.stacks.includes('ours')) return;
  await floodPart(ctx);
  await costPart(ctx);
}
