// Checks the targets of bench/targets.mjs against the records of a run: one row per figure, with
// its value and whether it is met. Used by bench/run.mjs after a run and by bench/docs.mjs on a
// results file (the run's `config` says which sizes and node counts each target covers).
import { sizeLabel } from './common.mjs';
import { findRecord } from './records.mjs';
import { TARGETS } from '../targets.mjs';

/**
 * @typedef {object} TargetRow
 * @property {string} label the figure, its placeholders filled in
 * @property {string} figure the target's figure, placeholders not filled in (for its notes)
 * @property {number | null} value the ratio, or the measured value in `unit`
 * @property {number | null} target
 * @property {string} [compare]
 * @property {string} [unit] absent for a ratio
 * @property {boolean | null} met null where there is nothing to meet
 * @property {boolean} [informative]
 * @property {string} [note]
 * @property {'met' | 'missed' | 'info' | 'not measured'} status 'not measured' when the run has
 *   no record for it (its section or a stack did not run, or a ratio has no value)
 */

/** The params each row of `target` is about: one set, or one per value of a config list. */
export function expand(target, config) {
  const fixed = target.params ?? {};
  if (!target.each) return [fixed];
  const { param, max = Infinity, min = -Infinity } = target.each;
  const values = config?.[target.each.config] ?? [];
  return values.filter(v => v >= min && v <= max).map(v => ({ ...fixed, [param]: v }));
}

const fill = (figure, params) =>
  figure
    .replace('{payload}', () => sizeLabel(params.payloadBytes))
    .replace('{nodes}', () => String(params.nodes));

const compared = (value, compare, target) => (compare === '>=' ? value >= target : value <= target);

/** The value of one row and whether it meets the target; `found` false if a record is missing. */
function measure(records, target, params) {
  const [stack, over] = target.stacks;
  const record = findRecord(records, target.record, stack, target.metric, params);
  if (over !== undefined) {
    const base = findRecord(records, target.record, over, target.metric, params);
    const value = record?.value != null && base?.value ? record.value / base.value : null;
    const met =
      value === null || target.target === null
        ? null
        : compared(value, target.compare, target.target);
    return { found: value !== null, value, met };
  }
  if (!record) return { found: false, value: null, met: null };
  const { value } = record;
  if (target.within) {
    const [low, high] = target.within;
    const p = record.params;
    const met = value != null && p.max <= high && p.min >= low && !p.missing;
    return { found: true, value, met };
  }
  if (target.target === null) {
    const note =
      value === null && record.params.waitedMs
        ? `never (waited ${record.params.waitedMs / 1000} s)`
        : undefined;
    return { found: true, value, met: null, note };
  }
  return {
    found: true,
    value,
    met: value === null ? false : compared(value, target.compare, target.target),
  };
}

/**
 * One row per figure of `targets` (by default the project's), in their order.
 * @returns {TargetRow[]}
 */
export function evaluateTargets(records, config, targets = TARGETS) {
  const rows = [];
  for (const target of targets) {
    for (const params of expand(target, config)) {
      const { found, value, met, note } = measure(records, target, params);
      const status = !found ? 'not measured' : target.informative ? 'info' : met ? 'met' : 'missed';
      rows.push({
        label: fill(target.figure, params),
        figure: target.figure,
        value,
        target: target.target,
        ...(target.compare ? { compare: target.compare } : {}),
        ...(target.unit ? { unit: target.unit } : {}),
        met,
        ...(target.informative ? { informative: true } : {}),
        ...(note ? { note } : {}),
        status,
      });
    }
  }
  return rows;
}

/** The rows as records of the results file (name 'target'), as bench/run.mjs writes them. */
export const targetRecords = rows =>
  rows.map(r => ({
    name: 'target',
    stack: 'gen-cluster',
    metric: r.label,
    value: r.value,
    unit: r.unit ?? 'ratio',
    params: {
      target: r.target,
      compare: r.compare,
      met: r.met,
      ...(r.informative ? { informative: true } : {}),
      ...(r.note ? { note: r.note } : {}),
    },
  }));
