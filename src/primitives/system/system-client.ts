import { performance } from 'node:perf_hooks';
import type { ClusterMessaging, RequestAllResult } from '../../core/index.js';
import {
  type ClusterOverview,
  type NodeOverview,
  SYSTEM_TOPICS,
  type SystemClient,
  type SystemEventsPage,
  type SystemInfo,
} from './system.types.js';

/** The code an older node (one without system topics) answers with. */
const NO_HANDLER = 'ERR_NO_HANDLER';

/** Whether `error` says the node has no handler for the topic: an older version. */
export function isOlderNodeError(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === NO_HANDLER;
}

/**
 * A {@link SystemClient} over `messaging`, for the node `self`. `nodes` lists the members to ask
 * in `overview` when `messaging` has no `requestAll` (every built-in messaging has it).
 */
export function createSystemClient(
  messaging: ClusterMessaging,
  self: string,
  nodes?: () => readonly string[],
): SystemClient {
  const ask = <T>(node: string, topic: string, payload: unknown, timeoutMs?: number) =>
    messaging.request<T>(node, topic, payload, timeoutMs === undefined ? {} : { timeoutMs });

  const askAll = async (timeoutMs?: number): Promise<RequestAllResult<SystemInfo>[]> => {
    const options = { includeSelf: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
    if (typeof messaging.requestAll === 'function')
      return messaging.requestAll<SystemInfo>(SYSTEM_TOPICS.info, null, options);
    const targets = [self, ...(nodes?.() ?? []).filter(n => n !== self)];
    return Promise.all(
      targets.map(node =>
        ask<SystemInfo>(node, SYSTEM_TOPICS.info, null, timeoutMs).then(
          value => ({ node, ok: true as const, value }),
          (error: unknown) => ({ node, ok: false as const, error: error as Error }),
        ),
      ),
    );
  };

  return {
    async ping(node, options = {}) {
      const started = performance.now();
      try {
        await ask(node, SYSTEM_TOPICS.ping, null, options.timeoutMs);
      } catch (error) {
        if (!isOlderNodeError(error)) throw error;
      }
      return performance.now() - started;
    },
    info: (node, options = {}) =>
      ask<SystemInfo>(node, SYSTEM_TOPICS.info, null, options.timeoutMs),
    events: (node, since, options = {}) =>
      ask<SystemEventsPage>(node, SYSTEM_TOPICS.events, { since }, options.timeoutMs),
    async overview(options = {}): Promise<ClusterOverview> {
      const results = await askAll(options.timeoutMs);
      const overview = results.map((result): NodeOverview =>
        result.ok
          ? { node: result.node, ok: true, info: result.value }
          : {
              node: result.node,
              ok: false,
              older: isOlderNodeError(result.error),
              error: result.error.message,
            },
      );
      overview.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
      return { self, nodes: overview };
    },
  };
}
