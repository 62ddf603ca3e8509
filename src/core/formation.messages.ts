import { MAX_TIMER_MS } from './validate.js';

/** Texts of the formation gate: option errors, its log line and the timeout of a wait for it. */
export const FormationMessages = {
  formed: (members: number, minMembers: number, stableMarginMs: number) =>
    `Cluster formed: ${members} peer(s) connected (${minMembers} required) and the discovered set unchanged for ${stableMarginMs} ms.`,
  timeout: (
    timeoutMs: number,
    members: number,
    required: number,
    sinceLastChangeMs: number | undefined,
    stableMarginMs: number,
  ) =>
    `Timed out after ${timeoutMs} ms waiting for the cluster to form: ${members} peer(s) connected, ${required} required; ${
      sinceLastChangeMs === undefined
        ? 'discovery has not answered yet'
        : `the discovered set last changed ${Math.round(sinceLastChangeMs)} ms ago, ${stableMarginMs} ms of stability required`
    }.`,
  timeoutForms: () => `a number of milliseconds from 0 to ${MAX_TIMER_MS}, or Infinity`,
} as const;
