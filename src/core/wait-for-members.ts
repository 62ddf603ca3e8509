import { type Observable, filter, firstValueFrom, timeout } from 'rxjs';
import { GenClusterError } from './errors.js';
import type { Membership } from './events.js';
import { CoreMessages } from './messages.js';

/**
 * The first membership of `membership$` with at least `count` members: rejects with
 * `ERR_WAIT_TIMEOUT` after `timeoutMs` (`Infinity` waits for ever), or `ERR_CLUSTER_STOPPED` when
 * the stream completes first (the cluster stopped). `connected()` gives the count for the message.
 */
export async function waitForMemberCount(
  membership$: Observable<Membership>,
  count: number,
  timeoutMs: number,
  connected: () => number,
): Promise<Membership> {
  const enough = membership$.pipe(filter(m => m.members.length >= count));
  try {
    return await firstValueFrom(
      Number.isFinite(timeoutMs) ? enough.pipe(timeout({ first: timeoutMs })) : enough,
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') {
      throw new GenClusterError(
        'ERR_WAIT_TIMEOUT',
        CoreMessages.waitTimeout(count, timeoutMs, connected()),
      );
    }
    if (error instanceof Error && error.name === 'EmptyError')
      throw new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped());
    throw error;
  }
}
