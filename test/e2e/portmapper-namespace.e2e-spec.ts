/**
 * The cluster namespace in port mapper registrations (EPMD's `Extra` field) with Erlang's own
 * `epmd` and `erl` (Debian's `erlang-base`): the wire format stays EPMD's, a real epmd keeps and
 * returns the namespace, and a real Erlang node (no namespace) counts as "default". Every mapper
 * runs on a free port of its own, owned by the test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { LocalDiscovery } from '../../src/discovery/index.js';
import { PortMapperClient } from '../../src/portmapper/index.js';
import { PortMapperFixtures } from '../support/port-mapper-harness.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const fx = new PortMapperFixtures();
afterEach(() => fx.release());

const context = (self: string) => ({
  self,
  logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
  requestRefresh: () => undefined,
});

describe('namespaces in port mapper registrations, with Erlang epmd and erl', () => {
  beforeAll(() => {
    for (const command of ['epmd', 'erl']) {
      if (spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0)
        throw new Error(
          `"${command}" is missing; install Debian's erlang-base: apt-get install -y erlang-base`,
        );
    }
  });

  it('a real epmd keeps the namespace in Extra and returns it; its NAMES answer is unchanged', async () => {
    const port = await freePort();
    const epmd = spawn('epmd', ['-port', String(port), '-relaxed_command_check'], {
      stdio: 'ignore',
    });
    fx.children.push(epmd);
    const client = new PortMapperClient({ port });
    await until(
      () =>
        client.names('127.0.0.1').then(
          () => true,
          () => false,
        ),
      5_000,
      'epmd to answer',
    );
    fx.handles.push(await client.register('in-ns', 40_201, { namespace: 'payments' }));
    fx.handles.push(await client.register('no-ns', 40_202));
    expect((await client.names('127.0.0.1')).sort((a, b) => a.port - b.port)).toEqual([
      { name: 'in-ns', port: 40_201 },
      { name: 'no-ns', port: 40_202 },
    ]);
    expect((await client.lookup('127.0.0.1', 'in-ns'))?.extra).toEqual(
      new Uint8Array(Buffer.from('gen-cluster:ns=payments')),
    );
    expect((await client.nodes('127.0.0.1')).sort((a, b) => a.port - b.port)).toEqual([
      { name: 'in-ns', port: 40_201, namespace: 'payments' },
      { name: 'no-ns', port: 40_202, namespace: 'default' },
    ]);
    // Local discovery over a real epmd lists by namespace.
    const inPayments = new LocalDiscovery({ portMapperPort: port, namespace: 'payments' });
    inPayments.init(context('self@my-box'));
    expect(await inPayments.peers()).toEqual([{ node: 'in-ns@my-box', port: 40_201 }]);
  });

  it('an Erlang node registered with our mapper counts as "default" for local discovery', async () => {
    const server = await fx.mapper({ port: await freePort() });
    const client = new PortMapperClient({ port: server.port });
    fx.handles.push(await client.register('ours-other', 40_203, { namespace: 'other' }));
    const x = spawn(
      'erl',
      ['-start_epmd', 'false', '-noshell', '-setcookie', 'gen-cluster-test', '-sname', 'x'],
      { env: { ...process.env, ERL_EPMD_PORT: String(server.port) }, stdio: 'ignore' },
    ) as ChildProcess;
    fx.children.push(x);
    await until(() => server.lookup('x') !== undefined, 15_000, 'erl -sname x to register');
    const erlangPort = server.lookup('x')!.port;
    expect(await client.nodes('127.0.0.1')).toEqual(
      expect.arrayContaining([
        { name: 'x', port: erlangPort, namespace: 'default' },
        { name: 'ours-other', port: 40_203, namespace: 'other' },
      ]),
    );
    const host = hostname();
    const byDefault = new LocalDiscovery({ portMapperPort: server.port });
    byDefault.init(context(`self@${host}`));
    expect((await byDefault.peers()).map(p => p.port)).toEqual([erlangPort]);
    const inOther = new LocalDiscovery({ portMapperPort: server.port, namespace: 'other' });
    inOther.init(context(`self@${host}`));
    expect((await inOther.peers()).map(p => p.port)).toEqual([40_203]);
  }, 30_000);
});
