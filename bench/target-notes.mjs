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

/** @type {Record<string, string>} */
export const TARGET_NOTES = {};

/** The note for an evaluated target row (bench/lib/evaluate-targets.mjs), or undefined. */
export const noteFor = (row, notes = TARGET_NOTES) => notes[row.label] ?? notes[row.figure];
