import { type Server, createServer } from 'node:net';
import { InvalidConfigError, MAX_TIMER_MS } from '../core/index.js';
import { freePort } from '../../test/support/ports.js';
import { until } from '../../test/support/wait.js';
import { PortMapperClient } from './port-mapper.client.js';
import { DEFAULT_PORT_MAPPER_PORT } from './port-mapper.defaults.js';
import {
  PortMapperRegistration,
  type PortMapperRegistrationOptions,
} from './port-mapper.registration.js';

const registrations: PortMapperRegistration[] = [];
const listeners: Server[] = [];

afterEach(async () => {
  await Promise.all(registrations.splice(0).map(r => r.close()));
  await Promise.all(listeners.splice(0).map(s => new Promise(r => s.close(r))));
});

/** A listener on an ephemeral port, standing for a node's dist listener. */
async function distPort(): Promise<number> {
  const server = createServer();
  listeners.push(server);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function registration(options: PortMapperRegistrationOptions): PortMapperRegistration {
  const r = new PortMapperRegistration(options);
  registrations.push(r);
  return r;
}

async function names(port: number) {
  const list = await new PortMapperClient({ port }).names('127.0.0.1');
  return list.map(e => `${e.name}:${e.port}`).sort();
}

describe('PortMapperRegistration', () => {
  it('defaults to a port that is not Erlang epmd 4369', () => {
    expect(DEFAULT_PORT_MAPPER_PORT).toBe(14369);
    expect(new PortMapperRegistration({ name: 'a', port: 1 }).portMapperPort).toBe(14369);
  });

  it('becomes the mapper when none answers, and the next node registers with it', async () => {
    const portMapperPort = await freePort();
    const a = registration({ name: 'a', port: 40_001, portMapperPort });
    await a.start();
    expect(a.serving).toBe(true);
    expect(a.registered).toBe(true);
    const b = registration({ name: 'b@some-host', port: 40_002, portMapperPort });
    await b.start();
    expect(b.serving).toBe(false);
    expect(b.name).toBe('b');
    expect(await names(portMapperPort)).toEqual(['a:40001', 'b:40002']);
  });

  it('lists five nodes started at once with ephemeral ports; exactly one serves', async () => {
    const portMapperPort = await freePort();
    const nodes = await Promise.all(
      [1, 2, 3, 4, 5].map(async i =>
        registration({ name: `node-${i}`, port: await distPort(), portMapperPort }),
      ),
    );
    await Promise.all(nodes.map(n => n.start()));
    expect(nodes.filter(n => n.serving)).toHaveLength(1);
    expect(await names(portMapperPort)).toEqual(nodes.map(n => `${n.name}:${n.port}`).sort());
  });

  it('restores the registry within about a second when the mapper dies', async () => {
    const portMapperPort = await freePort();
    const nodes = [1, 2, 3, 4].map(i =>
      registration({ name: `n${i}`, port: 40_000 + i, portMapperPort }),
    );
    for (const n of nodes) await n.start();
    const holder = nodes.find(n => n.serving)!;
    const before = new Map(nodes.map(n => [n.name, n.creation]));
    const dropped = nodes.map(
      n => new Promise(resolve => n.onChange(e => e.type === 'dropped' && resolve(e))),
    );
    // The mapper vanishes at once, as when its process dies.
    const started = performance.now();
    await holder.server!.close();
    await Promise.all(dropped);
    await until(
      async () =>
        nodes.every(n => n.registered) &&
        (await names(portMapperPort).catch(() => [])).length === 4,
      3_000,
      'every node to be registered again',
    );
    const took = performance.now() - started;
    expect(took).toBeLessThan(1_500);
    expect(nodes.filter(n => n.serving)).toHaveLength(1);
    for (const n of nodes) expect(n.creation).not.toBe(before.get(n.name));
  });

  it('serves the mapper on the bind address, registering through loopback', async () => {
    const portMapperPort = await freePort();
    const r = registration({ name: 'wide', port: 40_001, portMapperPort, bind: '0.0.0.0' });
    await r.start();
    expect(r.server?.host).toBe('0.0.0.0');
    expect(await names(portMapperPort)).toEqual(['wide:40001']);
  });

  it('refuses a name a live node holds, and stops what it started', async () => {
    const portMapperPort = await freePort();
    await registration({ name: 'same', port: 40_001, portMapperPort }).start();
    const second = registration({ name: 'same', port: 40_002, portMapperPort });
    await expect(second.start()).rejects.toMatchObject({ code: 'ERR_DUPLICATE_NODE_NAME' });
    expect(second.registered).toBe(false);
    expect(await names(portMapperPort)).toEqual(['same:40001']);
  });

  it('with serve: false, fails with ERR_PORT_MAPPER_UNAVAILABLE and starts nothing', async () => {
    const portMapperPort = await freePort();
    const r = registration({
      name: 'lonely',
      port: 40_001,
      portMapperPort,
      serve: false,
      startTimeoutMs: 300,
    });
    await expect(r.start()).rejects.toMatchObject({ code: 'ERR_PORT_MAPPER_UNAVAILABLE' });
    expect(r.serving).toBe(false);
    await expect(names(portMapperPort)).rejects.toMatchObject({ errno: 'ECONNREFUSED' });
  });

  it('stops the mapper, its sockets and its timers on close(), so the port is free again', async () => {
    const portMapperPort = await freePort();
    const a = registration({ name: 'a', port: 40_001, portMapperPort });
    const b = registration({ name: 'b', port: 40_002, portMapperPort });
    await a.start();
    await b.start();
    await a.close();
    // b lost the mapper with a, served it again itself, and registered.
    await until(() => b.registered && b.serving, 3_000, 'b to take the mapper over');
    await b.close();
    expect(b.registered).toBe(false);
    expect(b.serving).toBe(false);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(portMapperPort, '127.0.0.1', resolve);
    });
    await new Promise(resolve => probe.close(resolve));
  });

  it('closes cleanly while start() is still trying', async () => {
    const portMapperPort = await freePort();
    const r = registration({ name: 'x', port: 1, portMapperPort, serve: false });
    const starting = r.start();
    await r.close();
    await expect(starting).rejects.toMatchObject({ code: 'ERR_PORT_MAPPER_ABORTED' });
  });

  it('validates its options at construction', () => {
    expect(() => new PortMapperRegistration({ name: '', port: 1 })).toThrow(InvalidConfigError);
    expect(() => new PortMapperRegistration({ name: 'a\0', port: 1 })).toThrow(/name/);
    expect(() => new PortMapperRegistration({ name: 'a', port: 0 })).toThrow(/port/);
    expect(
      () => new PortMapperRegistration({ name: 'a', port: 1, portMapperPort: 70_000 }),
    ).toThrow(/portMapperPort/);
  });

  it('refuses a bind address that is not an IP address, naming the option', () => {
    for (const bind of ['box-2.example', '', '10.0.0.5:4369']) {
      expect(() => new PortMapperRegistration({ name: 'a', port: 1, bind })).toThrow(
        InvalidConfigError,
      );
      expect(() => new PortMapperRegistration({ name: 'a', port: 1, bind })).toThrow(
        'port mapper (registration).bind',
      );
    }
    for (const bind of ['0.0.0.0', '::', '10.0.0.5', '127.0.0.1'])
      expect(() => new PortMapperRegistration({ name: 'a', port: 1, bind })).not.toThrow();
  });

  it('refuses a start timeout above the timer ceiling, naming the option of the registration', () => {
    expect(
      () => new PortMapperRegistration({ name: 'a', port: 1, startTimeoutMs: MAX_TIMER_MS + 1 }),
    ).toThrow('port mapper (registration).startTimeoutMs');
  });

  it('registers the namespace in Extra, where nodes() reads it', async () => {
    const portMapperPort = await freePort();
    const a = registration({ name: 'a', port: 40_001, portMapperPort, namespace: 'team-a' });
    const b = registration({ name: 'b', port: 40_002, portMapperPort });
    await a.start();
    await b.start();
    expect(a.namespace).toBe('team-a');
    expect(b.namespace).toBeUndefined();
    const nodes = await new PortMapperClient({ port: portMapperPort }).nodes('127.0.0.1');
    expect(nodes.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: 'a', port: 40_001, namespace: 'team-a' },
      { name: 'b', port: 40_002, namespace: 'default' },
    ]);
  });

  it('keeps the namespace when it registers again after losing the mapper', async () => {
    const portMapperPort = await freePort();
    const holder = registration({ name: 'holder', port: 40_001, portMapperPort });
    await holder.start();
    const other = registration({ name: 'other', port: 40_002, portMapperPort, namespace: 'ns-x' });
    await other.start();
    await holder.close();
    const client = new PortMapperClient({ port: portMapperPort });
    await until(
      async () =>
        JSON.stringify(await client.nodes('127.0.0.1').catch(() => [])) ===
        JSON.stringify([{ name: 'other', port: 40_002, namespace: 'ns-x' }]),
      5_000,
      'the survivor to register again, with its namespace',
    );
  });

  it('refuses an invalid namespace at construction, naming the option', () => {
    expect(
      () => new PortMapperRegistration({ name: 'a', port: 1, namespace: 'no spaces' }),
    ).toThrow(InvalidConfigError);
    expect(() => new PortMapperRegistration({ name: 'a', port: 1, namespace: '' })).toThrow(
      'port mapper (registration).namespace',
    );
  });
});
