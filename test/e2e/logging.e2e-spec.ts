import { join } from 'node:path';
import { type SampleNode, TEST_COOKIE, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

/**
 * What a person reads in a node's log, from real processes (test/fixtures/log-node.mjs: the
 * cluster's Nest logger on Nest's console logger, which prints every level): at the default
 * level, routine work (refreshes, the failed dials of a peer that starts or restarts) is not
 * printed; a persistent problem is a warning at once and a summary later.
 */
const LOG_NODE = join(process.cwd(), 'test', 'fixtures', 'log-node.mjs');

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
/** The lines of the cluster's logger, without colours. */
const clusterLines = (node: SampleNode) =>
  node.output.map(line => line.replace(ANSI, '')).filter(line => line.includes('GenCluster:'));
const has = (node: SampleNode, pattern: RegExp) => clusterLines(node).some(l => pattern.test(l));
/** Nest's level column: `   WARN [GenCluster:default] ...`. */
/** The environment of one node of a statically listed pair sharing one dist port. */
const pairEnv = (host: string, names: readonly string[], port: number, cookie: string) => ({
  GEN_CLUSTER_NODE: `app@${host}`,
  GEN_CLUSTER_PORT: String(port),
  GEN_CLUSTER_DISCOVERY: `static:${names.join(',')}`,
  GEN_CLUSTER_COOKIE: cookie,
});
const level = (line: string) => /\s(LOG|WARN|ERROR|DEBUG|VERBOSE|FATAL)\s+\[/.exec(line)?.[1];

describe('cluster logs at the default level (real processes)', () => {
  afterEach(stopAll);

  it('prints no refresh line and no warning or error while its peers start and restart one by one', async () => {
    const hosts = ['127.0.0.12', '127.0.0.13', '127.0.0.14'];
    const names = hosts.map(h => `app@${h}`);
    const port = await freeSharedPort(hosts);
    const env = (host: string) => ({
      GEN_CLUSTER_NODE: `app@${host}`,
      GEN_CLUSTER_PORT: String(port),
      GEN_CLUSTER_DISCOVERY: `static:${names.join(',')}`,
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '500',
      NO_COLOR: '1',
    });
    const start = (host: string) => startNode(env(host), 20_000, LOG_NODE);
    const nodes = await Promise.all(hosts.map(start));
    const survivor = nodes[0]!;
    const members = async (count: number) =>
      (await Promise.all(nodes.map(n => n.members()))).every(m => m?.length === count);
    await until(() => members(2), 15_000, 'a full mesh of three');
    for (const i of [1, 2]) {
      await nodes[i]!.stop();
      await until(
        () => has(survivor, new RegExp(`Node down: ${names[i]} \\(left\\)`)),
        5_000,
        `${names[i]} reported down`,
      );
      nodes[i] = await start(hosts[i]!);
      await until(() => members(2), 15_000, `${names[i]} back in the mesh`);
    }
    const lines = clusterLines(survivor);
    expect(lines.filter(l => /Node up: /.test(l)).map(level)).toEqual(['LOG', 'LOG', 'LOG', 'LOG']);
    expect(lines.filter(l => /Refresh:/.test(l))).toEqual([]);
    expect(lines.filter(l => /Could not connect|ECONNREFUSED/.test(l))).toEqual([]);
    expect(lines.filter(l => level(l) !== 'LOG')).toEqual([]);
  });

  it('warns at once about a peer with a wrong cookie, summarises while it lasts, and logs the recovery', async () => {
    const hosts = ['127.0.0.15', '127.0.0.16'];
    const names = hosts.map(h => `app@${h}`);
    const port = await freeSharedPort(hosts);
    const env = (host: string, cookie: string) => ({
      ...pairEnv(host, names, port, cookie),
      LOG_NODE_SUMMARY_MS: '1500',
      NO_COLOR: '1',
    });
    // the peer first, so that the first dial of the node reaches it
    let wrong = await startNode(env(hosts[1]!, 'another-cookie-0123456789'), 20_000, LOG_NODE);
    const good = await startNode(env(hosts[0]!, TEST_COOKIE), 20_000, LOG_NODE);
    const peer = names[1]!.replace(/\./g, '\\.');
    await until(
      () =>
        has(good, new RegExp(`WARN .*Cannot connect to ${peer}: .*bad cookie.*\\(first attempt;`)),
      10_000,
      'the warning at the first refused attempt',
    ).catch(error => {
      throw new Error(`${(error as Error).message}:\n${clusterLines(good).join('\n')}`);
    });
    await until(
      () =>
        has(
          good,
          new RegExp(`WARN .*Still failing to connect to ${peer}: \\d+ attempts over .*bad cookie`),
        ),
      15_000,
      'the summary',
    );
    const warnings = clusterLines(good).filter(l => level(l) === 'WARN');
    // one warning, one summary, and the refusals of the peer's own dials (once a minute)
    expect(warnings.filter(l => /Cannot connect to/.test(l))).toHaveLength(1);
    expect(warnings.every(l => /Cannot connect|Still failing|cookie/.test(l))).toBe(true);
    expect(clusterLines(good).join('\n')).not.toMatch(/another-cookie|test-cookie/);
    // the peer comes back with the right cookie
    await wrong.stop();
    wrong = await startNode(env(hosts[1]!, TEST_COOKIE), 20_000, LOG_NODE);
    await until(
      () => has(good, new RegExp(`LOG .*Connected to ${peer} again after \\d+ failed attempt`)),
      20_000,
      'the recovery',
    );
    await until(() => has(good, new RegExp(`LOG .*Node up: ${peer}\\.`)), 5_000, 'node up');
  });

  it('writes one JSON object per line in json mode, with the event, node, peer and reason', async () => {
    const hosts = ['127.0.0.17', '127.0.0.18'];
    const names = hosts.map(h => `app@${h}`);
    const port = await freeSharedPort(hosts);
    const env = (host: string, cookie: string) => ({
      ...pairEnv(host, names, port, cookie),
      GEN_CLUSTER_LOG_FORMAT: 'json',
    });
    await startNode(env(hosts[1]!, 'another-cookie-0123456789'), 20_000, LOG_NODE);
    const node = await startNode(env(hosts[0]!, TEST_COOKIE), 20_000, LOG_NODE);
    const entries = () =>
      node.output
        .filter(line => line.startsWith('{'))
        .map(line => JSON.parse(line) as Record<string, unknown>);
    await until(
      () => entries().some(e => e.event === 'connectFailing'),
      10_000,
      'the JSON warning',
    );
    expect(entries().find(e => e.event === 'connectFailing')).toMatchObject({
      level: 'warn',
      context: 'GenCluster:default',
      node: names[0],
      peer: names[1],
      reason: 'ERR_BAD_COOKIE',
      attempts: 1,
    });
    expect(entries().find(e => e.event === 'nodeStarted')).toMatchObject({
      level: 'log',
      node: names[0],
      peer: null,
    });
    // every line of the cluster is JSON: nothing else but the harness's ready line
    expect(node.output.filter(l => !l.startsWith('{') && !l.startsWith('SAMPLE_READY'))).toEqual(
      [],
    );
  });
});
