// The benchmark's records: samples collected while the sections run, summarized at the end into
// the `records` of bench/results/*.json ({ name, stack, metric, value, unit, params }), and the
// lookups the report, the targets and the docs page make in them.
import { summarize } from './common.mjs';

/** Display name of each stack, as written in the records; the key order is the report's order. */
export const STACK_NAMES = {
  ours: 'gen-cluster',
  'nest-on': 'gen-cluster Nest on()',
  'nest-decorated': 'gen-cluster Nest decorated',
  raw: 'raw net.Socket',
  'raw-coalesced': 'raw net.Socket, coalesced',
  'json-rpc': 'minimal coalesced JSON RPC',
  moleculer: 'moleculer TCP',
  nest: '@nestjs/microservices TCP',
  'ours-ms': 'gen-cluster microservices transport',
  'ours-metrics': 'gen-cluster with metrics',
  'ours-otel-idle': 'gen-cluster, tracing without provider',
  'ours-call': 'gen-cluster call',
  'ours-request': 'gen-cluster request, rotated',
  'moleculer-call': 'moleculer call',
  nats: 'gen-cluster NATS',
  'moleculer-nats': 'moleculer NATS',
};

/** The stacks that talk through the run's nats-server (started by the messaging section). */
export const NATS_STACKS = ['nats', 'moleculer-nats'];

/** The stacks of the `calls` section (3 servers and a caller); every other stack is a pair. */
export const CALL_STACKS = ['ours-call', 'ours-request', 'moleculer-call'];

/** Every stack key the benchmark knows, in the report's order. */
export const ALL_STACKS = Object.keys(STACK_NAMES);

/** The stack key of a display name (the reverse of STACK_NAMES); the name itself if unknown. */
export const stackKey = displayName =>
  ALL_STACKS.find(key => STACK_NAMES[key] === displayName) ?? displayName;

/**
 * Samples by (name, stack, metric, unit, params): each measured run adds one value, and
 * `records()` turns every series into one record (median, with min, max and runs in params).
 */
export class Samples {
  #series = new Map();

  /**
   * Adds one value to a series and returns the series, so a caller can push notes to it
   * (`series.notes`) or give it a precomputed summary (`series.range`).
   */
  add(name, stack, metric, unit, params, value) {
    const key = JSON.stringify([name, stack, metric, unit, params]);
    let series = this.#series.get(key);
    if (!series) {
      series = { name, stack, metric, unit, params, values: [], notes: [] };
      this.#series.set(key, series);
    }
    series.values.push(value);
    return series;
  }

  /** One record per series, in the order the series were first seen. */
  records() {
    const records = [];
    for (const s of this.#series.values()) {
      const sum = s.range && s.values.length === 1 ? s.range : summarize(s.values);
      const params = { ...s.params, min: sum.min, max: sum.max, runs: sum.runs || s.values.length };
      if (s.values.some(v => v === null)) params.missing = s.values.filter(v => v === null).length;
      if (s.notes.length) params.notes = [...new Set(s.notes)].slice(0, 5);
      records.push({
        name: s.name,
        stack: STACK_NAMES[s.stack] ?? s.stack,
        metric: s.metric,
        value: sum.median,
        unit: s.unit,
        params,
      });
    }
    return records;
  }
}

/** The record of `stack` (a key of STACK_NAMES) for name and metric whose params include `params`. */
export const findRecord = (records, name, stack, metric, params = {}) =>
  records.find(
    r =>
      r.name === name &&
      r.stack === (STACK_NAMES[stack] ?? stack) &&
      r.metric === metric &&
      Object.entries(params).every(([k, v]) => r.params[k] === v),
  );

/** The stack keys that have at least one record, in the report's order. */
export const stacksIn = records =>
  ALL_STACKS.filter(key => records.some(r => r.name !== 'target' && r.stack === STACK_NAMES[key]));
