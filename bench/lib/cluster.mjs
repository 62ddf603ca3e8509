// Clusters of benchmark processes, one process per node, for the formation, failure, idle-cost
// and broadcast measurements: starting one and timing how its survivors see a node fail.
import { freePorts, now } from './common.mjs';
import { startChild, stopAll } from './procs.mjs';

/**
 * Starts an N-node cluster of `stack` ('ours' or 'moleculer'), one process per node, and waits
 * until every node sees every other; `ok` is false if it did not within 20 s + 1 s per node.
 */
export async function startCluster(ctx, stack, n, rep) {
  const ports = await freePorts(n);
  const names = ports.map((_, i) => (stack === 'ours' ? `n${i + 1}@127.0.0.1` : `n${i + 1}`));
  const all = names.map((name, i) => ({ nodeID: name, port: ports[i] }));
  const peers = names.map((name, i) => `${name}:${ports[i]}`);
  const tSpawn = now();
  const nodes = new Array(n);
  const ups = await Promise.all(
    names.map(async (name, i) => {
      const child = await startChild(`${stack}-n${i + 1}`);
      nodes[i] = child;
      const args =
        stack === 'ours'
          ? { stack, name, port: ports[i], peers }
          : { stack, nodeID: name, port: ports[i], all };
      return child.call('node', args, 60_000);
    }),
  ).catch(async error => {
    await stopAll(nodes, 500);
    throw error;
  });
  const lastUp = Math.max(...ups.map(u => u.t));
  const limit = 20_000 + n * 1_000;
  const formed = await Promise.all(
    nodes.map(c => c.waitEvent(e => e.ev === 'members' && e.n >= n - 1, limit)),
  );
  const ok = formed.every(Boolean);
  if (!ok) {
    const seen = nodes.map(c => c.events.filter(e => e.ev === 'members').at(-1)?.n ?? 0);
    ctx.progress(
      `${stack} cluster of ${n} did not form within ${limit / 1000} s: members seen per node ${seen.join(',')}`,
    );
  }
  const formedAt = ok ? Math.max(...formed.map(e => e.t)) : null;
  return {
    stack,
    n,
    rep,
    nodes,
    names,
    ok,
    afterLastUp: ok ? formedAt - lastUp : null,
    afterSpawn: ok ? formedAt - tSpawn : null,
    startMs: ups.map(u => u.t - u.t0),
  };
}

/**
 * Sends `signal` to node `victimIndex` and times until every survivor reported it down: `ms` is
 * null if not all did within `waitMs`.
 */
export async function detection(cluster, victimIndex, signal, waitMs) {
  const victim = cluster.nodes[victimIndex];
  const name = cluster.names[victimIndex];
  const survivors = cluster.nodes.filter((c, i) => i !== victimIndex && !c.exited && !c.faulted);
  const t0 = now();
  victim.signal(signal);
  victim.faulted = signal;
  const seen = await Promise.all(
    survivors.map(c => c.waitEvent(e => e.ev === 'down' && e.node === name && e.t >= t0, waitMs)),
  );
  const all = seen.every(Boolean);
  return {
    ms: all ? Math.max(...seen.map(e => e.t)) - t0 : null,
    first: seen.some(Boolean) ? Math.min(...seen.filter(Boolean).map(e => e.t)) - t0 : null,
    reasons: [...new Set(seen.filter(Boolean).map(e => e.reason))],
    detectedBy: seen.filter(Boolean).length,
    survivors: survivors.length,
  };
}
