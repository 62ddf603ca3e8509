/**
 * Three processes of test/fixtures/payload-node.mjs on 127.0.0.x with one shared port and static
 * discovery, for the large-message and payload-amplification e2e tests: start them, wait for the
 * full mesh, call their HTTP routes, read their counters.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SampleNode, TEST_COOKIE, startNode } from './nodes.js';
import { freeSharedPort } from './ports.js';
import { until } from './wait.js';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'payload-node.mjs');

/** What a payload node counts. */
export interface PayloadNodeState {
  /** nodeDown events seen, by peer. */
  readonly downs: Record<string, number>;
  /** Buffers received on the `big` topic, and their bytes. */
  readonly big: number;
  readonly bigBytes: number;
  /** Longest event-loop delay seen since start (10 ms resolution). */
  readonly maxLoopDelayMs: number;
}

/** The answer of `/ask`. */
export interface AskResult {
  readonly ok: boolean;
  readonly code?: string;
  readonly remoteCode?: string;
  readonly message?: string;
  readonly ms: number;
}

/** The answer of `/flood`. */
export interface FloodResult {
  readonly ok: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly ms: number;
}

/** A started payload node. */
export interface PayloadNode {
  readonly name: string;
  readonly process: SampleNode;
  get<T>(path: string, timeoutMs?: number): Promise<T>;
  state(): Promise<PayloadNodeState>;
}

/**
 * Starts one node per `host` (`<prefix>@<host>`), `hostile` ones sending `{ raw }` payloads as
 * raw bytes, and waits until each lists all the others.
 */
export async function startPayloadNodes(
  prefix: string,
  hosts: readonly string[],
  hostile: readonly boolean[] = [],
): Promise<PayloadNode[]> {
  const port = await freeSharedPort(hosts);
  const names = hosts.map(host => `${prefix}@${host}`);
  const processes = await Promise.all(
    names.map((name, i) =>
      startNode(
        {
          NODE: name,
          PORT: String(port),
          PEERS: names.join(','),
          COOKIE: TEST_COOKIE,
          HOSTILE: hostile[i] ? '1' : '0',
        },
        30_000,
        script,
      ),
    ),
  );
  const nodes = processes.map((process, i) => {
    const get = async <T>(path: string, timeoutMs = 60_000): Promise<T> => {
      const response = await fetch(`http://127.0.0.1:${process.http}${path}`, {
        method: path.startsWith('/ask') || path.startsWith('/flood') ? 'POST' : 'GET',
        signal: AbortSignal.timeout(timeoutMs),
      });
      return (await response.json()) as T;
    };
    return {
      name: names[i]!,
      process,
      get,
      state: () => get<PayloadNodeState>('/state'),
    };
  });
  await until(
    async () =>
      (await Promise.all(processes.map(p => p.members()))).every(
        members => members?.length === names.length - 1,
      ),
    30_000,
    'a full mesh',
  );
  return nodes;
}
