/**
 * The port mapper across hosts (issue 12; reliability.md §A.6 #57): two network namespaces on one
 * veth link stand for two hosts, each with its own port mapper (embedded by a process that opts
 * in with `bind`) and its own sample nodes. Nodes of both hosts form one cluster through
 * `local:<A>,<B>`; the other host may ask a mapper for names and ports, never register with it
 * nor stop it; a mapper left on loopback does not answer the other host at all; one host flooding
 * it with idle connections takes neither other hosts' queries nor local registrations.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../support/managed-process.js';
import { HttpRelay, NetworkNamespace, waitForLine } from '../support/netns.js';
import { TEST_COOKIE } from '../support/nodes.js';
import { alive2 } from '../support/port-mapper-harness.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sampleMain = join(root, 'dist', 'sample', 'main.js');
const fixture = (name: string) => join(root, 'test', 'fixtures', name);

/** The two hosts' addresses on their link (inside the namespaces only). */
const A = '10.231.0.1';
const B = '10.231.0.2';
/** A third host's address, added to host B's link end. */
const C = '10.231.0.3';

interface Host {
  readonly namespace: NetworkNamespace;
  readonly relay: HttpRelay;
  readonly address: string;
}

interface Node {
  readonly host: Host;
  readonly process: ManagedProcess;
  readonly http: number;
}

/** What a probe from another host saw. */
interface Probe {
  readonly connected: boolean;
  readonly closed: boolean;
  readonly error?: string;
  readonly bytes: string;
}

const NAMES_REQ = '6e';
const KILL_REQ = '6b';
const STOP_REQ = Buffer.from('sa1').toString('hex');
const DUMP_REQ = '64';

describe('the port mapper across hosts (two network namespaces on one link)', () => {
  let hostA: Host;
  let hostB: Host;
  const processes: ManagedProcess[] = [];

  beforeAll(async () => {
    const a = await NetworkNamespace.create('pmhosta');
    const b = await NetworkNamespace.create('pmhostb');
    try {
      await a.link(b, `${A}/24`, `${B}/24`);
      hostA = { namespace: a, relay: await HttpRelay.start(a), address: A };
      hostB = { namespace: b, relay: await HttpRelay.start(b), address: B };
    } catch (error) {
      await hostA?.relay.stop();
      a.destroy();
      b.destroy();
      throw error;
    }
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map(p => p.stop(2_000)));
  });
  afterAll(async () => {
    for (const host of [hostA, hostB]) {
      await host?.relay.stop();
      host?.namespace.destroy();
    }
  });

  /**
   * The process of `host` that embeds the mapper, listening on `bind` (loopback when unset), with
   * the embedded server's `server` options.
   */
  async function mapper(
    host: Host,
    port: number,
    bind?: string,
    server?: object,
  ): Promise<ManagedProcess> {
    const args = [
      fixture('exposed-port-mapper.mjs'),
      String(port),
      ...(bind ? [bind] : []),
      ...(server ? [JSON.stringify(server)] : []),
    ];
    const child = host.namespace.spawn(process.execPath, args, { PATH: process.env.PATH ?? '' });
    const managed = new ManagedProcess(child, { tag: `[mapper ${host.address}] ` });
    processes.push(managed);
    const ready = await waitForLine(managed, /MAPPER_READY \{/, 20_000, 'the port mapper');
    expect(JSON.parse(/\{.*\}/.exec(ready)![0])).toEqual({ serving: true, exposed: !!bind });
    return managed;
  }

  async function node(host: Host, name: string, port: number): Promise<Node> {
    const child = host.namespace.spawn(process.execPath, [sampleMain], {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      GEN_CLUSTER_COOKIE: TEST_COOKIE,
      GEN_CLUSTER_NODE: `${name}@${host.address}`,
      GEN_CLUSTER_DISCOVERY: `local:${A},${B}`,
      GEN_CLUSTER_PORTMAPPER_PORT: String(port),
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '1000',
    });
    const managed = new ManagedProcess(child, { tag: `[${name}] ` });
    processes.push(managed);
    const ready = await waitForLine(managed, /SAMPLE_READY \{/, 40_000, `node ${name}`);
    const http = (JSON.parse(/\{.*\}/.exec(ready)![0]) as { http: number }).http;
    return { host, process: managed, http };
  }

  /** Idle connections opened one by one from inside `from`, held until the process stops. */
  async function idle(
    from: Host,
    address: string,
    port: number,
    count: number,
  ): Promise<ManagedProcess> {
    const args = [
      fixture('port-mapper-idle-connections.mjs'),
      address,
      String(port),
      String(count),
    ];
    const child = from.namespace.spawn(process.execPath, args, { PATH: process.env.PATH ?? '' });
    const managed = new ManagedProcess(child, { tag: `[idle ${from.address}] ` });
    processes.push(managed);
    await waitForLine(managed, /IDLE_DONE/, 10_000, 'the idle connections');
    return managed;
  }

  /** Which of an idle process's connections the mapper closed, by index. */
  const closedOf = (p: ManagedProcess) =>
    p.output
      .map(l => /IDLE_CLOSED (\d+)/.exec(l)?.[1])
      .filter(i => i !== undefined)
      .map(Number)
      .sort((x, y) => x - y);

  const view = (n: Node) =>
    n.host.relay.get<{ self: string; members: string[] }>(`http://127.0.0.1:${n.http}/cluster`);

  /** One EPMD request from inside `from` to the mapper at `address:port`. */
  async function probe(
    from: Host,
    address: string,
    port: number,
    body: string,
    flags: string[] = [],
  ): Promise<Probe> {
    const args = [fixture('port-mapper-probe.mjs'), address, String(port), body, ...flags];
    const out = await from.namespace.run(process.execPath, args);
    return JSON.parse(/PROBE (\{.*\})/.exec(out)![1]!) as Probe;
  }

  /** The names a NAMES answer lists (after its 4-byte port). */
  const listed = (answer: Probe) =>
    [
      ...Buffer.from(answer.bytes, 'hex')
        .subarray(4)
        .toString('utf8')
        .matchAll(/name (\S+) at/g),
    ]
      .map(m => m[1]!)
      .sort();

  it('lets nodes on both hosts form one cluster through local:A,B, dialling each at its host', async () => {
    const port = await freePort();
    await mapper(hostA, port, '0.0.0.0'); // every interface
    await mapper(hostB, port, B); // one interface, and loopback for the local registrations
    const nodes = [
      await node(hostA, 'a1', port),
      await node(hostA, 'a2', port),
      await node(hostB, 'b1', port),
      await node(hostB, 'b2', port),
    ];
    const everyone = [`a1@${A}`, `a2@${A}`, `b1@${B}`, `b2@${B}`];
    await until(
      async () => {
        const views = await Promise.all(nodes.map(view));
        return views.every(
          (v, i) =>
            v?.self === everyone[i] &&
            JSON.stringify(v.members) === JSON.stringify(everyone.filter((_, j) => j !== i)),
        );
      },
      90_000,
      'one cluster of the four nodes of both hosts',
    );
    const mappers = async (host: Host) =>
      (await host.namespace.listeners()).filter(l => l.port === port).map(l => l.address);
    expect(await mappers(hostA)).toEqual(['0.0.0.0']);
    expect((await mappers(hostB)).sort()).toEqual([B, '127.0.0.1']);
    // the dists listen on their host's address only: peers of the other host dialled them there
    const dists = (await hostB.namespace.listeners()).filter(l => l.port !== port);
    expect(dists.filter(l => l.address === B)).toHaveLength(2);
  }, 240_000);

  it('refuses a registration from the other host, ignores its KILL, STOP and DUMP, answers its queries', async () => {
    const port = await freePort();
    const mapperA = await mapper(hostA, port, '0.0.0.0');
    await node(hostA, 'a1', port);
    await until(
      async () => listed(await probe(hostB, A, port, NAMES_REQ)).includes('a1'),
      30_000,
      'host B to see a1 registered on host A',
    );
    expect(listed(await probe(hostB, A, port, NAMES_REQ))).toEqual(['a1', 'mapper-holder']);

    const register = await probe(hostB, A, port, alive2('intruder').toString('hex'));
    expect(register).toEqual({ connected: true, closed: true, bytes: '' });
    for (const command of [KILL_REQ, STOP_REQ, DUMP_REQ])
      expect(await probe(hostB, A, port, command)).toEqual({
        connected: true,
        closed: true,
        bytes: '',
      });

    // Loopback clients of host A are still answered, KILL with "NO"; nothing was registered.
    const kill = await probe(hostA, '127.0.0.1', port, KILL_REQ);
    expect(Buffer.from(kill.bytes, 'hex').toString()).toBe('NO');
    expect(listed(await probe(hostA, '127.0.0.1', port, NAMES_REQ))).toEqual([
      'a1',
      'mapper-holder',
    ]);
    expect(listed(await probe(hostB, A, port, NAMES_REQ))).toEqual(['a1', 'mapper-holder']);
    expect(mapperA.exitCode).toBeUndefined();
  }, 120_000);

  it('does not answer the other host at all with the option off (the default: loopback only)', async () => {
    const port = await freePort();
    await mapper(hostB, port);
    await node(hostB, 'b1', port);
    await until(
      async () => listed(await probe(hostB, '127.0.0.1', port, NAMES_REQ)).includes('b1'),
      30_000,
      'b1 registered on host B',
    );
    const fromA = await probe(hostA, B, port, NAMES_REQ);
    expect(fromA).toMatchObject({ connected: false, bytes: '' });
    expect(fromA.error).toBe('ECONNREFUSED');
    const mappers = (await hostB.namespace.listeners()).filter(l => l.port === port);
    expect(mappers.map(l => l.address)).toEqual(['127.0.0.1']);
  }, 120_000);

  it("closes one host's connections past its own cap at once, and evicts other hosts' before local ones", async () => {
    const port = await freePort();
    // A third address on host B's end of the link, as another host of the network.
    const device = (await hostB.namespace.run('ip', ['-o', '-4', 'addr', 'show']))
      .split('\n')
      .find(line => line.includes(`${B}/`))!
      .split(/\s+/)[1]!;
    await hostB.namespace.run('ip', ['addr', 'replace', `${C}/24`, 'dev', device]);
    const mapperA = await mapper(hostA, port, '0.0.0.0', {
      maxPendingConnections: 5,
      maxPendingPerAddress: 3,
      packetTimeoutMs: 60_000, // idle connections outlive the test: closing them is the caps' job
    });
    const local = await idle(hostA, '127.0.0.1', port, 2); // the oldest pending connections
    const flood = await idle(hostB, A, port, 5); // 2 past its per-address cap of 3
    await until(() => closedOf(flood).length >= 2, 5_000, 'the flood past its cap closed');
    expect(closedOf(flood)).toEqual([3, 4]);
    // one warning for both (rate-limited per address), naming the address and the option
    await until(
      () => mapperA.output.some(l => l.includes('WARN')),
      5_000,
      'the warning of the mapper',
    );
    const warnings = mapperA.output.filter(l => l.includes('WARN'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`from ${B} at once`);
    expect(warnings[0]).toContain('maxPendingPerAddress');

    // 2 local + 3 of B's = the cap of 5: the NAMES connection of a third host evicts B's oldest,
    // not a local one, and is answered.
    const names = await probe(hostB, A, port, NAMES_REQ, [`--from=${C}`]);
    expect(names).toMatchObject({ connected: true, closed: true });
    expect(listed(names)).toEqual(['mapper-holder']);
    await until(() => closedOf(flood).length >= 3, 5_000, "B's oldest evicted");
    expect(closedOf(flood)).toEqual([0, 3, 4]);
    // A local node still registers while B holds its share.
    const register = await probe(hostA, '127.0.0.1', port, alive2('late').toString('hex'), [
      '--until-answer',
    ]);
    expect(register.bytes.slice(0, 4)).toBe('7600'); // ALIVE2_X_RESP, result 0: registered
    expect(closedOf(local)).toEqual([]);
    expect(local.exitCode).toBeUndefined();
  }, 60_000);
});
