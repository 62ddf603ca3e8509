import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';

/** A documentation address (RFC 5737) that is not one of this machine's. */
function foreignAddress(): string {
  const local = new Set(
    Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(entry => entry.address)),
  );
  const address = ['192.0.2.1', '198.51.100.1', '203.0.113.1'].find(a => !local.has(a));
  if (!address) throw new Error('every RFC 5737 test address is local here');
  return address;
}

/**
 * Setup mistakes of the dist, made as a user makes them (in the environment of the sample app):
 * the bootstrap fails, and what it prints names the variable, the value and the fix.
 */
describe('dist setup mistakes fail the bootstrap with an error that says what to do', () => {
  let holder: Server | undefined;
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `gen-cluster-setup-${process.pid}-`));
  });
  afterEach(async () => {
    await stopAll();
    const server = holder;
    holder = undefined;
    if (server) await new Promise(resolve => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const staticPeer = { GEN_CLUSTER_DISCOVERY: 'static:b@127.0.0.102' };

  it('a dist port in use: says it is the cluster port, set by GEN_CLUSTER_PORT, and what to do', async () => {
    const port = await freePort('127.0.0.101');
    holder = createServer();
    await new Promise<void>(resolve => holder!.listen(port, '127.0.0.101', resolve));
    const start = startNode({
      ...staticPeer,
      GEN_CLUSTER_NODE: 'a@127.0.0.101',
      GEN_CLUSTER_PORT: String(port),
    });
    await expect(start).rejects.toThrow(/exited with 1 before it was ready/);
    await expect(start).rejects.toThrow(
      new RegExp(
        `port ${port} on 127\\.0\\.0\\.101 is already in use\\. It is the cluster's dist port \\(option port, variable GEN_CLUSTER_PORT\\)`,
      ),
    );
    await expect(start).rejects.toThrow(/or choose a free port/);
  });

  it('a node host that is not an address of this machine: says so, and that GEN_CLUSTER_BIND exists', async () => {
    const host = foreignAddress();
    const start = startNode({
      ...staticPeer,
      GEN_CLUSTER_NODE: `a@${host}`,
      GEN_CLUSTER_PORT: String(await freePort()),
    });
    await expect(start).rejects.toThrow(/exited with 1 before it was ready/);
    await expect(start).rejects.toThrow(
      `the host of the node name a@${host} (option node, variable GEN_CLUSTER_NODE) is ${host}, which is not an address of this machine`,
    );
    await expect(start).rejects.toThrow(/set the listen address with GEN_CLUSTER_BIND/);
  });

  it('a cookie file that is a directory: says it is a directory, not to chmod it', async () => {
    const start = startNode({
      ...staticPeer,
      GEN_CLUSTER_NODE: 'a@127.0.0.1',
      GEN_CLUSTER_COOKIE: '',
      GEN_CLUSTER_COOKIE_FILE: dir,
    });
    await expect(start).rejects.toThrow(/exited with 1 before it was ready/);
    await expect(start).rejects.toThrow(
      `The cookie file ${dir} (option cookieFile, variable GEN_CLUSTER_COOKIE_FILE) is a directory`,
    );
    await expect(start).rejects.not.toThrow(/chmod/);
  });

  it('a default cookie file that is a directory: says so, and how to get out of it', async () => {
    const cookieDir = join(dir, '.gen-cluster.cookie');
    mkdirSync(cookieDir);
    const start = startNode({
      ...staticPeer,
      HOME: dir,
      GEN_CLUSTER_NODE: 'a@127.0.0.1',
      GEN_CLUSTER_COOKIE: '',
    });
    await expect(start).rejects.toThrow(/exited with 1 before it was ready/);
    await expect(start).rejects.toThrow(
      `The default cookie file ${cookieDir} is a directory, so no cookie can be read or created there. Remove or rename that directory`,
    );
    await expect(start).rejects.not.toThrow(/chmod/);
  });
});
