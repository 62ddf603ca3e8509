import type { HandshakeIdentity } from '../../src/distribution/tcp/handshake/index.js';

/** Limits of a Connection built by hand (no dist around it), matching the dists' timings. */
export const rawLimits = {
  maxFramePayloadBytes: 64 * 1024,
  maxMessageBytes: 1024 * 1024,
  maxQueueBytes: 2 * 1024 * 1024,
  maxQueueMessages: 100,
  failureTimeoutMs: 5_000,
  heartbeatMs: 1_000,
  handshakeStepTimeoutMs: 5_000,
  handshakeTotalTimeoutMs: 10_000,
};

/**
 * The handshake identity of a node named `name`, for a Connection built by hand. It has no
 * `startedAt`, so it announces no start time, as a node of a release before the start time does.
 */
export const rawIdentity = (name: string, listenPort: number | null = null): HandshakeIdentity => ({
  name,
  incarnation: `${name[0]}1234567`,
  listenPort,
  hidden: false,
  heartbeatMs: 1_000,
  failureTimeoutMs: 5_000,
});
