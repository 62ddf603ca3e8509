/** User-facing texts of the testing helpers. */
export const TestingMessages = {
  notStarted: () => 'The in-memory dist is not started: the cluster has not called init() yet.',
  notLinked: (node: string) => `${node} is not connected on the in-memory network.`,
} as const;
