import { getEventListeners } from 'node:events';

/** Idle controllers kept at most; more calls than this in flight create new ones. */
const MAX_IDLE_CONTROLLERS = 1_024;

/**
 * Abort controllers for calls, reused: making one (its `AbortSignal`) costs a few microseconds in
 * Node, a tenth of a round trip, while nearly every call ends without aborting. A controller goes
 * back only when it never aborted and nothing listens on its signal any more (the call's request
 * removed its listener when it ended), so a reused signal carries nothing of its last call.
 */
export class AbortControllerPool {
  private readonly idle: AbortController[] = [];

  /** An unaborted controller with no listener on its signal. */
  take(): AbortController {
    return this.idle.pop() ?? new AbortController();
  }

  /** Gives back the controller of a call that ended; kept only when reusable. */
  release(controller: AbortController): void {
    const { signal } = controller;
    if (
      this.idle.length < MAX_IDLE_CONTROLLERS &&
      !signal.aborted &&
      getEventListeners(signal, 'abort').length === 0
    )
      this.idle.push(controller);
  }
}
