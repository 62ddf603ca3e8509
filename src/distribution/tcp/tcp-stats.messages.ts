/** Texts of the TCP dist's health (why it no longer listens). */
export const TcpHealthMessages = {
  listenerClosed: () => 'the dist listener closed on its own',
  listenerFailed: (why: string) => `the dist listener failed: ${why}`,
} as const;
