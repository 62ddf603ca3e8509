/**
 * Interoperability of the port mapper with Erlang's own `epmd` and `erl` (Debian's `erlang-base`):
 * each epmd runs on a free port of its own, owned by the test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { PortMapperClient, PortMapperRegistration } from '../../src/portmapper/index.js';
import { PortMapperFixtures, namesOf } from '../support/port-mapper-harness.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const fx = new PortMapperFixtures();
afterEach(() => fx.release());

describe('interop with Erlang epmd and erl (Debian erlang-base)', () => {
  beforeAll(() => {
    for (const command of ['epmd', 'erl']) {
      if (spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0)
        throw new Error(
          `"${command}" is missing; install Debian's erlang-base: apt-get install -y erlang-base`,
        );
    }
  });

  /** Starts a real epmd on a free port, in the foreground, owned by this test. */
  async function epmd(port?: number): Promise<{ port: number; child: ChildProcess }> {
    const p = port ?? (await freePort());
    const child = spawn('epmd', ['-port', String(p), '-relaxed_command_check'], {
      stdio: 'ignore',
    });
    fx.children.push(child);
    await until(
      async () =>
        await new PortMapperClient({ port: p }).names('127.0.0.1').then(
          () => true,
          () => false,
        ),
      5_000,
      'epmd to answer',
    );
    return { port: p, child };
  }

  it('registers with a real epmd and reads its PORT2 and NAMES answers', async () => {
    const { port } = await epmd();
    const client = new PortMapperClient({ port });
    const handle = await client.register('ours', 40_123);
    fx.handles.push(handle);
    expect(handle.creation).toBeGreaterThan(0);
    expect(await client.names('127.0.0.1')).toEqual([{ name: 'ours', port: 40_123 }]);
    expect(await client.lookup('localhost', 'ours')).toMatchObject({
      name: 'ours',
      port: 40_123,
      nodeType: 77,
      highestVersion: 6,
      lowestVersion: 5,
    });
    expect(await client.lookup('127.0.0.1', 'nobody')).toBeUndefined();
    await expect(client.register('ours', 1)).rejects.toMatchObject({
      code: 'ERR_DUPLICATE_NODE_NAME',
    });
    await handle.close();
    await until(
      async () => (await client.names('127.0.0.1')).length === 0,
      2_000,
      'epmd to forget it',
    );
  });

  it('a registration pointed at epmd uses it, and re-registers when epmd comes back', async () => {
    const first = await epmd();
    const registration = new PortMapperRegistration({
      name: 'follower',
      port: 40_124,
      portMapperPort: first.port,
      serve: false,
    });
    fx.registrations.push(registration);
    await registration.start();
    expect(registration.serving).toBe(false);
    expect(await namesOf(first.port)).toEqual(['follower:40124']);
    first.child.kill('SIGKILL');
    await until(() => !registration.registered, 2_000, 'the registration to drop');
    await epmd(first.port);
    await until(() => registration.registered, 5_000, 'the registration to come back');
    expect(await namesOf(first.port)).toEqual(['follower:40124']);
  }, 20_000);

  it('serves real Erlang nodes: erl registers, net_adm:names() and net_adm:ping() work through it', async () => {
    const server = await fx.mapper({ port: await freePort() });
    fx.handles.push(await new PortMapperClient({ port: server.port }).register('ours', 40_125));
    const env = { ...process.env, ERL_EPMD_PORT: String(server.port) };
    const erl = (args: string[]) =>
      spawn(
        'erl',
        ['-start_epmd', 'false', '-noshell', '-setcookie', 'gen-cluster-test', ...args],
        {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    const x = erl(['-sname', 'x']);
    fx.children.push(x);
    await until(() => server.lookup('x') !== undefined, 15_000, 'erl -sname x to register');
    const y = erl([
      '-sname',
      'y',
      '-eval',
      'io:format("~p~n~p~n", [net_adm:names(), net_adm:ping(list_to_atom("x@" ++ net_adm:localhost()))]), halt().',
    ]);
    fx.children.push(y);
    let out = '';
    y.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    y.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise(resolve => y.once('exit', resolve));
    expect(out).toContain('{"ours",40125}');
    expect(out).toContain(`{"x",${server.lookup('x')!.port}}`);
    expect(out).toMatch(/pong/);
    x.kill('SIGKILL');
    await until(() => server.lookup('x') === undefined, 5_000, 'x to be unregistered');
    expect(server.names().map(e => e.name)).toEqual(['ours']);
  }, 30_000);
});
