/**
 * User-facing texts of the transport errors ({@link QueueFullError}, {@link NodeDownError},
 * {@link MessageTooLargeError}), kept
 * in one place so they can be found and improved. A transport may pass a more precise text of its
 * own catalog.
 */
export const TransportMessages = {
  nodeDown: (node: string, topic?: string) =>
    topic === undefined
      ? `Node ${node} is not connected.`
      : `Node ${node} went down before answering request "${topic}".`,
  queueFull: (node: string) =>
    `The send queue to ${node} is full; the message was not sent. Slow down or raise the queue limit.`,
  messageTooLarge: (node: string, bytes: number, limit: number) =>
    `A message of ${bytes} bytes to ${node} exceeds the ${limit}-byte message limit; it was not sent. Retrying will not help: send less, or raise the limit.`,
} as const;
