import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

/**
 * The formation gate on real processes (the built sample, `GEN_CLUSTER_FORMATION_STABLE_MS` and
 * `GEN_CLUSTER_MIN_MEMBERS`), observed through `/health/ready`: 503 with reason `notFormed` until
 * the cluster forms, then 200. (a) one of three nodes starts late: the two early ones wait for
 * it; (b) a hosts file that keeps changing: no formation until it settles.
 */

/** The stable margin of the late-node case: long enough to see, short enough for the budget. */
const MARGIN_MS = 1_500;
/** The stable margin of the churn case: many changes (one every {@link CHURN_MS}) fit in it. */
const CHURN_MARGIN_MS = 2_000;
/** How often the hosts file changes while it churns. */
const CHURN_MS = 300;
/** The refresh interval of every node. */
const REFRESH_MS = 300;
/** Five processes start at once here: give a loaded machine time to start them. */
const START = { timeoutMs: 30_000 };

interface Ready {
  readonly at: number;
  readonly status: number | undefined;
  readonly reason: string | undefined;
}

async function ready(node: SampleNode): Promise<Ready> {
  try {
    const response = await fetch(`http://127.0.0.1:${node.http}/health/ready`, {
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await response.json()) as { details?: { cluster?: { reason?: string } } };
    return {
      at: performance.now(),
      status: response.status,
      reason: body.details?.cluster?.reason,
    };
  } catch {
    return { at: performance.now(), status: undefined, reason: undefined };
  }
}

/** Polls `/health/ready` of `nodes` every 100 ms until stopped: the answers, in order, per node. */
function watchReadiness(nodes: readonly SampleNode[]) {
  const seen = nodes.map(() => [] as Ready[]);
  let running = true;
  const loops = nodes.map(async (node, i) => {
    while (running) {
      seen[i]!.push(await ready(node));
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  });
  return {
    seen,
    /** The time of node i's first 200, if any. */
    firstReady: (i: number) => seen[i]!.find(r => r.status === 200)?.at,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const env = (
  name: string,
  port: number,
  discovery: string,
  minMembers: number,
  margin = MARGIN_MS,
) => ({
  GEN_CLUSTER_NODE: name,
  GEN_CLUSTER_PORT: String(port),
  GEN_CLUSTER_DISCOVERY: discovery,
  GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
  GEN_CLUSTER_MIN_MEMBERS: String(minMembers),
  GEN_CLUSTER_FORMATION_STABLE_MS: String(margin),
  GEN_CLUSTER_LOG_LEVEL: 'warn',
});

// The two cases run at once (other addresses, other ports) to keep the file's wall time short.
describe('the formation gate on real processes', () => {
  afterAll(stopAll);

  it.concurrent(
    'keeps two early nodes not formed (notFormed) until the late third connects, and the third for its margin',
    async () => {
      const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
      const names = hosts.map(h => `app@${h}`);
      const port = await freeSharedPort(hosts);
      const discovery = `static:${names.join(',')}`;
      const early = await Promise.all(
        names.slice(0, 2).map(name => startNode(env(name, port, discovery, 2), START)),
      );
      const watch = watchReadiness(early);
      try {
        // the early two see each other, and stay notFormed (one peer of two) for ~4 s
        await until(
          async () => (await Promise.all(early.map(n => n.members()))).every(m => m?.length === 1),
          10_000,
          'a and b connected',
        );
        // the scenario itself, not a wait for a condition: c starts 4 s late
        const lateAt = performance.now() + 4_000;
        await until(() => performance.now() >= lateAt, 5_000, 'the late start', 100);
        const cSpawnedAt = performance.now();
        const c = await startNode(env(names[2]!, port, discovery, 2), START);
        const cWatch = watchReadiness([c]);
        try {
          await until(
            () => [0, 1].every(i => watch.firstReady(i) && cWatch.firstReady(0)),
            10_000,
            'all three ready',
          );
        } finally {
          await cWatch.stop();
        }
        await watch.stop();
        // before c existed, a and b answered only notFormed
        for (const [i, answers] of watch.seen.entries()) {
          const before = answers.filter(r => r.at < cSpawnedAt && r.status !== undefined);
          expect(before.length).toBeGreaterThan(10);
          expect(before.filter(r => r.status !== 503 || r.reason !== 'notFormed')).toEqual([]);
          expect(watch.firstReady(i)).toBeGreaterThan(cSpawnedAt);
        }
        // c: notFormed until its own margin passed, counted from its first answer (after its spawn)
        const cAnswers = cWatch.seen[0]!;
        expect(cWatch.firstReady(0)! - cSpawnedAt).toBeGreaterThanOrEqual(MARGIN_MS);
        expect(cAnswers.some(r => r.reason === 'notFormed')).toBe(true);
      } finally {
        await watch.stop();
      }
    },
  );

  it.concurrent(
    'does not form while a hosts file keeps changing, and forms within the margin and an interval once it settles',
    async () => {
      const hosts = ['127.0.0.5', '127.0.0.6'];
      const names = hosts.map(h => `app@${h}`);
      const port = await freeSharedPort(hosts);
      const dir = mkdtempSync(join(tmpdir(), `gen-cluster-formation-${process.pid}-`));
      const file = join(dir, 'cluster.hosts');
      let generation = 0;
      /**
       * Rewrites the file atomically, with the unreachable entry `ghost-<n>@127.0.0.9` or none.
       * Each change names a new ghost (the previous one removed, another added), so a node that
       * reads the file only every other change still sees a change, never the same file again.
       */
      const write = (ghost: number | undefined) => {
        const lines = names.map(n => `${n}:${port}`);
        if (ghost !== undefined) lines.push(`ghost-${ghost}@127.0.0.9:${port}`);
        const temp = `${file}.${generation++}`;
        writeFileSync(temp, `# formation e2e\n${lines.join('\n')}\n`);
        renameSync(temp, file);
      };
      write(undefined);
      // the churn runs from before the nodes start, a change every CHURN_MS, well under the margin
      let churning = true;
      const writes = [performance.now()];
      const churn = (async () => {
        for (let ghost = 0; churning; ghost++) {
          write(ghost);
          writes.push(performance.now());
          await new Promise(resolve => setTimeout(resolve, CHURN_MS));
        }
        write(undefined); // settled, without a ghost
        writes.push(performance.now());
      })();
      try {
        const nodes = await Promise.all(
          names.map(name => startNode(env(name, port, `hosts:${file}`, 1, CHURN_MARGIN_MS), START)),
        );
        const watch = watchReadiness(nodes);
        try {
          await until(
            async () =>
              (await Promise.all(nodes.map(n => n.members()))).every(m => m?.length === 1),
            10_000,
            'a and b connected',
          );
          // churn on for 2 margins with both nodes up, then let it settle
          const churnUntil = performance.now() + 2 * CHURN_MARGIN_MS;
          await until(
            () => performance.now() >= churnUntil,
            2 * CHURN_MARGIN_MS + 1_000,
            'churn',
            100,
          );
          churning = false;
          await churn;
          const settledAt = writes.at(-1)!;
          await until(
            () => nodes.every((_, i) => watch.firstReady(i) !== undefined),
            CHURN_MARGIN_MS + REFRESH_MS + 3_000,
            'both ready once the file settled',
          );
          await watch.stop();
          // the longest pause of the writer: a loaded machine that stalls it for a margin makes
          // the file really stable that long, so it is reported beside any early formation
          const longestPauseMs = Math.max(...writes.slice(1).map((at, i) => at - writes[i]!));
          for (const [i, answers] of watch.seen.entries()) {
            const during = answers.filter(r => r.at < settledAt && r.status !== undefined);
            expect(during.length).toBeGreaterThan(10);
            // each early formation carries the writer's longest pause, which says whether the
            // file really stood still for a margin (a stalled machine) or the gate was wrong
            expect(
              during
                .filter(r => r.status !== 503 || r.reason !== 'notFormed')
                .map(r => ({ ...r, longestPauseMs })),
            ).toEqual([]);
            const formedAfter = watch.firstReady(i)! - settledAt;
            // the margin counts from the last change the node saw (the write plus its debounce)
            expect(formedAfter).toBeGreaterThanOrEqual(CHURN_MARGIN_MS - 50);
            expect(formedAfter).toBeLessThan(CHURN_MARGIN_MS + REFRESH_MS + 1_000);
          }
        } finally {
          await watch.stop();
        }
      } finally {
        churning = false;
        await churn;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
