/**
 * A node started while NATS is down stays alive with nothing else holding its event loop: a real
 * process (createCluster from the build) with no stdin open, no HTTP server, no other handle, on
 * the NATS dist to a nats-server that is down. `start()` resolves after the first connect wait
 * (cut off), the process is still alive well past that wait (the link's retries hold it: a
 * refused connect fails at once, so unreferenced timers would let the process exit with code 0),
 * and it joins a peer once the server starts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ManagedProcess } from '../support/managed-process.js';
import { NatsServer } from '../support/nats-server.js';
import { killAllNatsNodes, natsNodeOptions, startNatsNode } from '../support/nats-nodes.js';
import { TEST_COOKIE } from '../support/nodes.js';
import { until } from '../support/wait.js';

const FIRST_CONNECT_WAIT_MS = 500;
/** How long past the first connect wait the process must still be alive. */
const MARGIN_MS = 1_500;
const A = 'sd-a@127.0.0.1';
const B = 'sd-b@127.0.0.1';

/** The node: prints `started`, its events and its exit; holds nothing open itself. */
const SCRIPT = `
const { createCluster } = await import(process.env.GC_CONFIG_URL);
const print = line => process.stdout.write(JSON.stringify(line) + '\\n');
process.on('exit', code => print({ exit: code }));
const cluster = createCluster({
  node: process.env.GC_NODE,
  useEnv: false,
  dist: JSON.parse(process.env.GC_DIST),
  refreshIntervalMs: 200,
  logger: { debug() {}, log() {}, warn() {}, error: m => print({ error: m }) },
});
cluster.events$.subscribe(event => print({ event: event.type, node: event.node }));
await cluster.start();
print({ started: true });
`;

describe('a node started while NATS is down (real nats-server, real process)', () => {
  let server: NatsServer | undefined;
  let child: ManagedProcess | undefined;

  afterAll(async () => {
    await child?.kill();
    await killAllNatsNodes();
    await server?.close();
  });

  it('stays alive with nothing else holding the event loop, and joins once NATS starts', async () => {
    const config = join(process.cwd(), 'dist', 'src', 'config', 'index.js');
    if (!existsSync(config)) throw new Error(`${config} is missing: run "npm run build" first.`);
    server = await NatsServer.start();
    await server.kill(); // down, its port kept for the restart
    const dist = {
      strategy: 'nats',
      servers: server.url,
      cookie: TEST_COOKIE,
      heartbeatIntervalMs: 200,
      failureTimeoutMs: 1_000,
      firstConnectWaitMs: FIRST_CONNECT_WAIT_MS,
      reconnectTimeWaitMs: 200,
    };
    const spawnedAt = performance.now();
    const process_ = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        GC_CONFIG_URL: pathToFileURL(config).href,
        GC_NODE: A,
        GC_DIST: JSON.stringify(dist),
      },
      // no stdin: an open stdin pipe would hold the event loop and hide the exit
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const node = (child = new ManagedProcess(process_, { tag: `[${A}] ` }));
    const lines = () =>
      node.output.flatMap(line => {
        try {
          return [JSON.parse(line.slice(A.length + 3)) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    const exited = () => node.exitCode !== undefined;
    const dump = () => node.output.join('\n');

    await until(
      () => {
        if (exited()) throw new Error(`the node exited before start() resolved:\n${dump()}`);
        return lines().some(l => l.started);
      },
      10_000,
      'start() to resolve while NATS is down',
    );
    expect(lines().some(l => l.event === 'distDisconnected')).toBe(true);
    // Alive for a while is what the test is about: that time is waited out (ending early if the
    // process exits), not a condition.
    await until(
      () => exited() || performance.now() - spawnedAt > FIRST_CONNECT_WAIT_MS + MARGIN_MS,
      FIRST_CONNECT_WAIT_MS + MARGIN_MS + 5_000,
      'the margin past the first connect wait',
      50,
    );
    if (exited())
      throw new Error(`the node exited (code ${node.exitCode}) while NATS was down:\n${dump()}`);

    await server.restart();
    const peer = await startNatsNode(B, natsNodeOptions(server.url));
    await until(
      () => {
        if (exited()) throw new Error(`the node exited:\n${dump()}`);
        return (
          lines().some(l => l.event === 'distConnected') &&
          lines().some(l => l.event === 'nodeUp' && l.node === B) &&
          peer.members().includes(A)
        );
      },
      10_000,
      `${A} to reconnect and join ${B}`,
    );
  });
});
