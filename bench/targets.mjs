// The project's performance targets, as data: what each compares, the target and the stacks it is
// measured on. bench/run.mjs checks them after a run (the "Targets" table, and the `target`
// records of the results file); bench/docs.mjs marks each met or missed on docs/benchmarks.md.
// Evaluated by bench/lib/evaluate-targets.mjs.
//
// Fields of a target:
// - figure: its label; `{payload}` and `{nodes}` are filled in from the record params.
// - record, metric: the record name and metric measured (see bench/results/*.json).
// - params: record params it is about; `each` repeats it over a list of the run's `config`
//   (`config` names the list, `param` the record param, `max`/`min` keep only some values).
// - stacks: one stack for a measured value, two for a ratio (the first over the second); keys of
//   STACK_NAMES in bench/lib/records.mjs.
// - compare and target: the value must be `>=` or `<=` the target.
// - unit: of a measured value; a ratio has none.
// - within: the [low, high] window every run must fall in (all of them, not only the median);
//   `target` is then the high end.
// - informative: shown beside the targets for comparison, never counted as met or missed.

import { FAILURE_TIMEOUT_MS, HEARTBEAT_MS, REFUSAL_CASES } from './lib/options.mjs';

/** @typedef {'>=' | '<='} Compare */

/**
 * @typedef {object} Target
 * @property {string} figure
 * @property {string} record
 * @property {string} metric
 * @property {Record<string, unknown>} [params]
 * @property {{ config: string, param: string, max?: number, min?: number }} [each]
 * @property {string[]} stacks
 * @property {Compare} [compare]
 * @property {number | null} target
 * @property {string} [unit] absent for a ratio
 * @property {[number, number]} [within]
 * @property {boolean} [informative]
 */

const eachSize = { config: 'sizes', param: 'payloadBytes' };
const eachCallSize = { config: 'callsSizes', param: 'payloadBytes' };
const eachOnewaySize = { config: 'onewaySizes', param: 'payloadBytes' };
const sigstopWindow = [FAILURE_TIMEOUT_MS - HEARTBEAT_MS, FAILURE_TIMEOUT_MS + HEARTBEAT_MS];

/** @type {Target[]} */
export const TARGETS = [
  {
    // issue 19: 32 B and 1 KiB at 1 in flight within 15 % of the raw echo
    figure: 'request/response 1 in flight {payload}: gen-cluster / raw echo',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 1 },
    each: { ...eachSize, max: 1024 },
    stacks: ['ours', 'raw'],
    compare: '>=',
    target: 0.85,
  },
  {
    // issue 19: the larger payloads at 1 in flight are shown beside it, no longer a target
    figure: 'request/response 1 in flight {payload}: gen-cluster / raw echo',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 1 },
    each: { ...eachSize, min: 1025 },
    stacks: ['ours', 'raw'],
    target: null,
    informative: true,
  },
  {
    // issue 19: CPU of both processes per round trip at 1 in flight, lower is better
    figure: 'CPU per round trip, 1 in flight {payload}: gen-cluster / raw echo',
    record: 'request-response',
    metric: 'cpu_per_round_trip',
    params: { inFlight: 1 },
    each: { ...eachSize, max: 1024 },
    stacks: ['ours', 'raw'],
    compare: '<=',
    target: 1.3,
  },
  {
    // issue 19: 1 in flight beside the minimal coalesced JSON RPC, for comparison
    figure: 'request/response 1 in flight {payload}: gen-cluster / minimal JSON RPC',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 1 },
    each: { ...eachSize, max: 1024 },
    stacks: ['ours', 'json-rpc'],
    target: null,
    informative: true,
  },
  {
    // issue 19: what a structured codec with id correlation and one write per turn achieves
    figure: 'request/response 100 in flight {payload}: gen-cluster / minimal JSON RPC',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: { ...eachSize, max: 32 },
    stacks: ['ours', 'json-rpc'],
    compare: '>=',
    target: 0.9,
  },
  {
    figure: 'request/response 100 in flight {payload}: gen-cluster / minimal JSON RPC',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: { ...eachSize, min: 33 },
    stacks: ['ours', 'json-rpc'],
    target: null,
    informative: true,
  },
  {
    // issue 19: large payloads at 100 in flight within 20 % of the raw echo
    figure: 'request/response 100 in flight {payload}: gen-cluster / raw echo',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: { ...eachSize, min: 65536 },
    stacks: ['ours', 'raw'],
    compare: '>=',
    target: 0.8,
  },
  {
    figure: 'request/response 100 in flight {payload}: gen-cluster / Moleculer',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: eachSize,
    stacks: ['ours', 'moleculer'],
    compare: '>=',
    target: 5,
  },
  {
    figure: 'request/response 100 in flight {payload}: gen-cluster / Nest TCP',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: eachSize,
    stacks: ['ours', 'nest'],
    compare: '>=',
    target: 4,
  },
  {
    // issue 18: the NATS dist beside Moleculer's NATS transporter on the same nats-server, in
    // the same run ("ahead of Moleculer at 1 and 100 in flight")
    figure: 'request/response 1 in flight {payload}: gen-cluster NATS / Moleculer NATS',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 1 },
    each: { ...eachSize, max: 1024 },
    stacks: ['nats', 'moleculer-nats'],
    compare: '>=',
    target: 1,
  },
  {
    figure: 'request/response 100 in flight {payload}: gen-cluster NATS / Moleculer NATS',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: { ...eachSize, max: 1024 },
    stacks: ['nats', 'moleculer-nats'],
    compare: '>=',
    target: 1,
  },
  {
    figure: 'one-way {payload}: gen-cluster NATS / Moleculer NATS (messages/s)',
    record: 'one-way',
    metric: 'messages_per_s',
    each: { ...eachOnewaySize, max: 1024 },
    stacks: ['nats', 'moleculer-nats'],
    target: null,
    informative: true,
  },
  {
    // issue 13: what a @ClusterHandler method (found by the explorer, called through Nest's
    // pipeline with no enhancers) costs per request beside a handler registered with on(); CPU
    // of both processes per round trip, the client the same for both
    figure: 'request/response 100 in flight {payload}: Nest decorated / Nest on()',
    record: 'request-response',
    metric: 'cpu_per_round_trip',
    params: { inFlight: 100 },
    each: eachSize,
    stacks: ['nest-decorated', 'nest-on'],
    compare: '<=',
    target: 1.15,
  },
  {
    figure: 'request/response 100 in flight {payload}: Nest decorated / Nest on(), round trips/s',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: eachSize,
    stacks: ['nest-decorated', 'nest-on'],
    target: null,
    informative: true,
  },
  {
    // issue 14: the ClientProxy path (GenClusterClientProxy.send to a @MessagePattern controller
    // served by GenClusterTransport in a hybrid app) beside Nest's own TCP transport
    figure: 'ClientProxy request 100 in flight {payload}: gen-cluster transport / Nest TCP',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: eachSize,
    stacks: ['ours-ms', 'nest'],
    compare: '>=',
    target: 2,
  },
  {
    // issue 14, a gate of its own: the cost of Nest's microservices pipeline (server and
    // ClientProxy) over a handler registered with cluster.on() called by ClusterService.request
    figure: 'ClientProxy request 100 in flight {payload}: gen-cluster transport / Nest on()',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: eachSize,
    stacks: ['ours-ms', 'nest-on'],
    compare: '>=',
    target: 0.8,
  },
  {
    // issue 15, a gate: metrics attached in both processes (ClusterMetrics on a private
    // registry, per-topic latency histogram on, not scraped during the run) cost at most 5 %
    figure: 'request/response 100 in flight {payload}: with metrics / gen-cluster',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: { ...eachSize, max: 1024 },
    stacks: ['ours-metrics', 'ours'],
    compare: '>=',
    target: 0.95,
  },
  {
    // issue 15, a gate: tracing hooks installed with @opentelemetry/api present but no tracer
    // provider registered (tracing 'auto' in an app without OpenTelemetry) cost at most 3 %
    figure: 'request/response 100 in flight {payload}: tracing without provider / gen-cluster',
    record: 'request-response',
    metric: 'round_trips_per_s',
    params: { inFlight: 100 },
    each: { ...eachSize, max: 1024 },
    stacks: ['ours-otel-idle', 'ours'],
    compare: '>=',
    target: 0.97,
  },
  {
    // issue 14: call() round-robin over 3 serving processes beside Moleculer's balanced
    // broker.call over 3 brokers, from a fourth process
    figure: 'call round-robin over 3 servers, 100 in flight {payload}: gen-cluster / Moleculer',
    record: 'call',
    metric: 'calls_per_s',
    params: { inFlight: 100 },
    each: eachCallSize,
    stacks: ['ours-call', 'moleculer-call'],
    compare: '>=',
    target: 3,
  },
  {
    figure: 'call round-robin over 3 servers, 1 in flight {payload}: gen-cluster / Moleculer',
    record: 'call',
    metric: 'calls_per_s',
    params: { inFlight: 1 },
    each: eachCallSize,
    stacks: ['ours-call', 'moleculer-call'],
    target: null,
    informative: true,
  },
  {
    // issue 14, a gate of its own: what the registry and the selection cost a call beside plain
    // requests rotated over the same 3 servers by hand
    figure:
      'call round-robin over 3 servers, 100 in flight {payload}: call / request rotated by hand',
    record: 'call',
    metric: 'calls_per_s',
    params: { inFlight: 100 },
    each: eachCallSize,
    stacks: ['ours-call', 'ours-request'],
    compare: '>=',
    target: 0.95,
  },
  {
    // issue 19: small one-way messages at 0.3 of the coalesced raw socket (its 32 B frames carry
    // no codec, no envelope and no per-message header at all)
    figure: 'one-way {payload}: gen-cluster / coalesced raw',
    record: 'one-way',
    metric: 'messages_per_s',
    each: { ...eachOnewaySize, max: 32 },
    stacks: ['ours', 'raw-coalesced'],
    compare: '>=',
    target: 0.3,
  },
  {
    // issue 19: 1 KiB one-way messages at 0.8 of the coalesced raw socket (was 0.5 for every
    // size up to 1 KiB)
    figure: 'one-way {payload}: gen-cluster / coalesced raw',
    record: 'one-way',
    metric: 'messages_per_s',
    each: { ...eachOnewaySize, min: 33, max: 1024 },
    stacks: ['ours', 'raw-coalesced'],
    compare: '>=',
    target: 0.8,
  },
  {
    // issue 19: one-way beside the minimal coalesced JSON RPC, for comparison
    figure: 'one-way {payload}: gen-cluster / minimal JSON RPC',
    record: 'one-way',
    metric: 'messages_per_s',
    each: { ...eachOnewaySize, max: 1024 },
    stacks: ['ours', 'json-rpc'],
    target: null,
    informative: true,
  },
  {
    // the target is about small messages; larger ones are shown beside it for comparison
    figure: 'one-way {payload}: gen-cluster / coalesced raw',
    record: 'one-way',
    metric: 'messages_per_s',
    each: { ...eachOnewaySize, min: 1025 },
    stacks: ['ours', 'raw-coalesced'],
    target: null,
    informative: true,
  },
  {
    // issue 19: "keep it linear": the cost per peer of the first refresh (discover and connect
    // every peer) at 10,000 peers at most 1.5 times that at 1,000 (1.0 is linear)
    figure: 'refresh, first (connect all): cost per peer at 10,000 / at 1,000 peers',
    record: 'refresh',
    metric: 'first_refresh_per_peer_growth',
    params: { peers: 10_000, relativeTo: 1_000 },
    stacks: ['ours'],
    compare: '<=',
    target: 1.5,
  },
  {
    // issue 19: the same for a steady refresh (nothing changed)
    figure: 'refresh, steady: cost per peer at 10,000 / at 1,000 peers',
    record: 'refresh',
    metric: 'steady_refresh_per_peer_growth',
    params: { peers: 10_000, relativeTo: 1_000 },
    stacks: ['ours'],
    compare: '<=',
    target: 1.5,
  },
  {
    figure: 'kill -9 detected by every survivor, {nodes} nodes (gen-cluster)',
    record: 'failure-kill9',
    metric: 'detected_by_every_survivor_ms',
    each: { config: 'killNodes', param: 'nodes' },
    stacks: ['ours'],
    compare: '<=',
    target: 50,
    unit: 'ms',
  },
  {
    figure: 'kill -9 detected by every survivor, {nodes} nodes (Moleculer)',
    record: 'failure-kill9',
    metric: 'detected_by_every_survivor_ms',
    each: { config: 'killNodes', param: 'nodes' },
    stacks: ['moleculer'],
    compare: '<=',
    target: 50,
    unit: 'ms',
    informative: true,
  },
  {
    // a silent peer is declared down between failureTimeoutMs - heartbeatMs and
    // failureTimeoutMs + heartbeatMs of silence (the library's defaults)
    figure: `SIGSTOP declared down, {nodes} nodes (gen-cluster), window ${sigstopWindow.join('-')} ms`,
    record: 'failure-sigstop',
    metric: 'declared_down_ms',
    each: { config: 'stopNodes', param: 'nodes' },
    stacks: ['ours'],
    compare: '<=',
    within: sigstopWindow,
    target: sigstopWindow[1],
    unit: 'ms',
  },
  {
    figure: 'SIGSTOP declared down, {nodes} nodes (Moleculer)',
    record: 'failure-sigstop',
    metric: 'declared_down_ms',
    each: { config: 'stopNodes', param: 'nodes' },
    stacks: ['moleculer'],
    target: null,
    unit: 'ms',
    informative: true,
  },
  {
    // issue 16: the successor's singleton starts at most 100 ms after it saw the leader go
    figure: 'leadership failover after kill -9, {nodes} sample processes: started after detection',
    record: 'failover-kill9',
    metric: 'after_detection_ms',
    each: { config: 'failoverNodes', param: 'nodes' },
    stacks: ['ours'],
    compare: '<=',
    target: 100,
    unit: 'ms',
  },
  {
    // issue 16: a frozen leader is replaced within the failure timeout + 1 s
    figure: `leadership failover after SIGSTOP, {nodes} sample processes: started (failure timeout ${FAILURE_TIMEOUT_MS} ms)`,
    record: 'failover-sigstop',
    metric: 'successor_started_ms',
    each: { config: 'failoverNodes', param: 'nodes' },
    stacks: ['ours'],
    compare: '<=',
    target: FAILURE_TIMEOUT_MS + 1_000,
    unit: 'ms',
  },
  {
    figure: 'formation of 16 processes (static) after the last one is up',
    record: 'formation',
    metric: 'after_last_process_up_ms',
    params: { nodes: 16 },
    stacks: ['ours'],
    compare: '<=',
    target: 1_000,
    unit: 'ms',
  },
  {
    // issue 12, scenario 10: A floods B with large Buffers (100 × 32 MiB, 2 in flight; fewer in
    // quick mode, see the record's params); 1 KiB requests on the same link stay within 4× their
    // unloaded p99 + 50 ms
    figure: 'large-Buffer flood A→B: 1 KiB request p99 A→B / (4 × unloaded p99 + 50 ms)',
    record: 'large-flood',
    metric: 'p99_ab_over_allowance',
    stacks: ['ours'],
    compare: '<=',
    target: 1,
  },
  {
    // ... and requests to a third node are unaffected (±20 %)
    figure: 'large-Buffer flood A→B: 1 KiB request p99 A→C / unloaded p99, window 0.8–1.2',
    record: 'large-flood',
    metric: 'p99_ac_over_unloaded',
    stacks: ['ours'],
    compare: '<=',
    within: [0.8, 1.2],
    target: 1.2,
  },
  {
    figure: 'large-Buffer flood A→B: messages not delivered to B',
    record: 'large-flood',
    metric: 'undelivered',
    stacks: ['ours'],
    compare: '<=',
    target: 0,
    unit: 'messages',
  },
  {
    figure: 'large-Buffer flood A→B: false nodeDown on A, B and C',
    record: 'large-flood',
    metric: 'false_node_down',
    stacks: ['ours'],
    compare: '<=',
    target: 0,
    unit: 'nodeDown',
  },
  {
    // issue 12: a send bound to be refused fails before its payload is encoded (scenario 36:
    // within 1 ms), whatever its size
    figure: 'refused send, 32 MiB Buffer over maxMessageBytes: longest call',
    record: 'large-refused',
    metric: 'call_max',
    params: { case: REFUSAL_CASES.tooLarge },
    stacks: ['ours'],
    compare: '<=',
    target: 1,
    unit: 'ms',
  },
  {
    figure: 'refused send, 32 MiB Buffer to a full queue: longest call',
    record: 'large-refused',
    metric: 'call_max',
    params: { case: REFUSAL_CASES.queueFull },
    stacks: ['ours'],
    compare: '<=',
    target: 1,
    unit: 'ms',
  },
  {
    figure: 'refused send, structured payload over the size limit: longest call',
    record: 'large-refused',
    metric: 'call_max',
    params: { case: REFUSAL_CASES.structured },
    stacks: ['ours'],
    target: null,
    unit: 'ms',
    informative: true,
  },
];
