/**
 * User-facing texts of the `local` discovery, kept in one place so they can be found and improved.
 */
export const LocalMessages = {
  /** What each option accepts, for refusals. */
  accepts: {
    options: 'an object such as { strategy: "local" }',
    hosts:
      'a non-empty array of hosts: "localhost" (this host), IPv4 or IPv6 addresses, or DNS names',
  },
  allFailed: (details: string) =>
    `Local discovery: no port mapper answered (${details}); keeping the last good peers. Is a node with an ephemeral dist port running on the host (it serves the mapper), and is portMapperPort the same everywhere?`,
  partial: (host: string, error: Error) =>
    `Local discovery: the port mapper of ${host} did not answer (${error.message}); using its last good names.`,
  skipped: (name: string, host: string) =>
    `Local discovery: skipped the registered name ${JSON.stringify(name)} on ${host}: not a valid node name.`,
  unreadableNamespace: (name: string, host: string) =>
    `Local discovery: skipped the registered name ${JSON.stringify(name)} on ${host}: its registration declares a namespace that cannot be read.`,
} as const;
