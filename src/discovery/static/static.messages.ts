/**
 * User-facing texts of the `static` discovery, kept in one place so they can be found and improved.
 */
export const StaticMessages = {
  notAnArray: (nodes: unknown) =>
    `Invalid static discovery: "nodes" must be an array of "name@host[:port]" strings; received ${JSON.stringify(nodes)}.`,
  invalidEntry: (index: number, entry: unknown, why: string) =>
    `Invalid static discovery entry #${index} ${JSON.stringify(entry)}: ${why}`,
} as const;
