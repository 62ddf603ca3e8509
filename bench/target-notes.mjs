// Why a target was missed, and the profile that shows where the time goes: written by hand after
// a full run (issue 19: "each missed target is listed with the profile that explains it"), beside
// the targets of bench/targets.mjs, and rendered under the targets on docs/benchmarks.md by
// bench/docs.mjs. A missed target without a note is listed there as not explained yet.
//
// Keys: a row's figure as the targets table shows it ('one-way 32 B: gen-cluster / coalesced
// raw'), or a target's figure with its placeholders ('one-way {payload}: gen-cluster / coalesced
// raw') for a note about every row of it; the first wins. Values: one or two sentences of Markdown
// saying where the time goes, with the profile they come from (a file under bench/results/prof/
// summarized by `node bench/prof-summary.mjs`, its date and the build it measured).

const PROFILE =
  'Profile: `node bench/run.mjs --quick --cpu-prof --only rr,oneway --stacks ours` on the issue-19 build (2026-12-02), `node bench/prof-summary.mjs`; shares of each process’s busy (non-idle) CPU.';

/** @type {Record<string, string>} */
export const TARGET_NOTES = {
  'request/response 1 in flight {payload}: gen-cluster / raw echo':
    'One request at a time is bound by wake-ups, and ours spends about 20–45 µs more CPU per round trip than the raw echo (CPU row below): the JavaScript of the request path is about 5 µs of it (in-process measurement: request table, envelope, codec fast path); the rest is socket writes through `cork`/`writev` (12–20 % of the client), the end-of-turn flush the send queue schedules with `setImmediate` after writing the first message at once, and GC (10–18 %). The repetitions of one cell spread widely (this run: 32 B 10.2–16.1k/s, 1 KiB 9.6–13.9k/s; CPU per round trip 75–111 µs at 32 B): a pair settles in a fast or a slow state, not yet explained. ' +
    PROFILE,
  'CPU per round trip, 1 in flight {payload}: gen-cluster / raw echo':
    'See the 1-in-flight rows above: the same extra writes, scheduled flush and GC per round trip. ' +
    PROFILE,
  'request/response 100 in flight {payload}: gen-cluster / minimal JSON RPC':
    'Client: native socket writes 20 % (the first request of a turn is written at once, the rest at the end of the turn: two writes per turn where the JSON RPC makes one; a flush at the end of the turn only was measured no better), GC 18 %, the request path 19 % (pending-request table 9 %: a Map by id, a Set per node, the deadline queue). Server: receive and dispatch 24 %, reply (encode, envelope, queue) 17 %, writes 13 %. Its p99 (8.5 ms vs 3.6 ms in this run) follows the scavenges. ' +
    PROFILE,
  'request/response 100 in flight {payload}: gen-cluster / raw echo':
    'At 64 KiB the codec is no longer the cost (fast-path encode about 7 % of the server, decode 5 %): reassembling frames that span socket reads (an exact 64 KiB buffer and one copy per frame, since a 64 KiB socket read never holds a whole frame) takes about 21 % of the server, socket writes 17 %, and GC 24 % of the client and 11 % of the server, driven by a fresh 64 KiB buffer per frame and per encoding and a 64 KiB string per decode. The raw echo moves bytes without a string on either side; the minimal JSON RPC, which has to, ran at 1.6× ours in this run and at ours (1.01×) in the full run before it with the same messaging code (the 64 KiB cells spread by ±25 % within a run). ' +
    PROFILE,
  'one-way {payload}: gen-cluster / coalesced raw':
    'The coalesced raw socket sends a 64 KiB buffer of ready-made frames per write (0.17 µs of CPU per 32 B message, both processes); ours builds, encodes, frames and decodes each message (1.4–1.8 µs at 32 B). Sender: socket write and flush 24 %, payload encode 13 %, envelope 6 %, GC 10 %, the send path 10 %. Receiver: frame decode and its views 7 %, envelope 7 %, payload decode 13 % (mostly the UTF-8 string), dispatch 5 %, GC 10 %. Beside the minimal JSON RPC, which does less per message, ours ran at 0.87× (32 B) and 0.78× (1 KiB) in this run and at 1.24× and 1.64× in the full run before it with the same messaging code: one-way cells move by up to 40 % between runs on this machine. ' +
    PROFILE,
  'request/response 100 in flight {payload}: gen-cluster / Moleculer':
    'A target of issue 10, missed before this issue too (1.3–2.6× then, 1.5–3.2× in this run): Moleculer’s cost per call did not change, ours went down. Not profiled again in this issue.',
  'request/response 100 in flight {payload}: gen-cluster / Nest TCP':
    'A target of issue 10, missed before this issue too (1.3–1.8× then). At 64 KiB ours is bound by the copies and GC described for the raw-echo row; Nest TCP sends JSON text without a length-checked binary envelope. Not profiled again in this issue.',
  'request/response 1 in flight {payload}: gen-cluster NATS / Moleculer NATS':
    'Missed since issue 18 (docs/nats.md, Performance): the HMAC of every NATS frame is about 10 of the 14 µs per round trip between the two.',
  'request/response 100 in flight {payload}: gen-cluster NATS / Moleculer NATS':
    'Missed since issue 18 (docs/nats.md, Performance): per-frame HMAC and sequence checks that Moleculer does not do.',
  'ClientProxy request 100 in flight {payload}: gen-cluster transport / Nest TCP':
    'Missed since issue 14: the cost is Nest’s microservices pipeline on both sides (ClientProxy, observables, the server’s handler lookup and serializers), which is the same for both transports; not profiled again in this issue.',
  'ClientProxy request 100 in flight {payload}: gen-cluster transport / Nest on()':
    'Was 0.72–0.81× before this issue: `Nest on()` (ClusterService.request) got the request-path and codec savings, while the ClientProxy path keeps the fixed cost of Nest’s microservices pipeline (observables, serializers); not profiled again in this issue.',
  'request/response 100 in flight {payload}: with metrics / gen-cluster':
    'Was 0.97–1.02× before this issue: the metrics hooks cost the same per message as before, but the message itself got cheaper (11–13 µs per round trip at 32 B, from 17–30), so the same hooks are a larger share; not profiled again in this issue.',
  'request/response 100 in flight {payload}: tracing without provider / gen-cluster':
    '0.93× at both sizes in this run (0.90× and 1.01× in the run before): the hooks’ fixed cost against a cheaper message, as for metrics; within the spread of those cells’ repetitions. Not profiled again in this issue.',
  'call round-robin over 3 servers, 100 in flight {payload}: gen-cluster / Moleculer':
    'A target of issue 14: 32 B met (3.35× in this run), 1 KiB at 2.61× (2.07× in the run before, 2.22× before this issue); four processes on two cores. Not profiled again in this issue.',
  'call round-robin over 3 servers, 100 in flight {payload}: call / request rotated by hand':
    'At 0.93× against 0.95× (32 B met at 0.97×), on the line: the plain requests got the same savings, the selection and registry cost stayed. Not profiled again in this issue.',
  'leadership failover after kill -9, {nodes} sample processes: started after detection':
    'Measured right after the 32-node formation cells, at a load average of 12.7 on two cores; see the failover section for the repetitions.',
  'large-Buffer flood A→B: 1 KiB request p99 A→B / (4 × unloaded p99 + 50 ms)':
    'One flood, at the end of a run whose load average was 12.7; the unloaded p99 it divides by was taken at the same time. Not profiled again in this issue.',
  'large-Buffer flood A→B: 1 KiB request p99 A→C / unloaded p99, window 0.8–1.2':
    'Missed before this issue too (3.9× then): requests to a third node share the sender’s event loop with the 32 MiB encodes and fragment writes. Not profiled again in this issue.',
  'refresh, steady: cost per peer at 10,000 / at 1,000 peers':
    'Every step of a steady refresh is one pass over the peers (their canonical names, a `Map` of the answer, the members the dist reports, each looked up in a `Map`), so the work is linear; what grows is the cost of each `Map` operation once 10,000 entries of fresh `name@host` strings leave the CPU caches. In-process, building a `Map` of n fresh node names and looking each up in another costs 0.24 µs per entry at 1,000 and 0.66 µs at 10,000 (2.7×) on this machine, more than the refresh’s own growth. Profile of steady refreshes at 10,000 peers: canonical names 26 %, the answer’s `Map` 20 %, reconciling with the dist’s members 17 %, GC 10 %; at 1,000 the same functions lead (22 %, 13 %, 4 %, GC 18 %). A steady refresh of 10,000 peers takes about 20 ms, 0.4 % of a core at the default 5 s interval. Profile: `node --cpu-prof` of bench/lib/stacks/ours.mjs `refreshScale` (200 steady refreshes at 10,000 peers, 2,000 at 1,000), issue-19 build of 2026-12-02, `node bench/prof-summary.mjs`.',
};

/** The note for an evaluated target row (bench/lib/evaluate-targets.mjs), or undefined. */
export const noteFor = (row, notes = TARGET_NOTES) => notes[row.label] ?? notes[row.figure];
