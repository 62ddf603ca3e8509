/**
 * Waits until `condition` holds, polling every `everyMs`; fails with `what` after `timeoutMs`.
 * Tests wait on conditions with deadlines, never on fixed sleeps.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  everyMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, everyMs));
  }
}

/** Lets pending promise callbacks run (for fake-timer tests). */
export async function flushPromises(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/**
 * A box holding the state of `promise`, kept current ('pending', 'ok' or the error). The handler
 * is attached at once, so a rejection while fake time advances is not unhandled.
 */
export function observe(promise: Promise<unknown>): { value: unknown } {
  const box: { value: unknown } = { value: 'pending' };
  promise.then(
    () => (box.value = 'ok'),
    (error: unknown) => (box.value = error),
  );
  return box;
}
