import { createSocket } from 'node:dgram';
import { GossipSocketError } from './gossip.errors.js';
import { type DatagramSocket, GossipSocket, SOCKET_DEADLINE_MS } from './gossip-socket.js';

const settings = {
  group: '239.255.43.69',
  port: 45_892,
  interface: 'eth9',
  interfaceAddress: '10.9.9.9',
  ttl: 1,
};

function errno(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** A socket whose every call does nothing unless a spec overrides it. */
function socket(
  overrides: Partial<DatagramSocket> = {},
): DatagramSocket & { listeners: Map<string, (...a: never[]) => void> } {
  const listeners = new Map<string, (...a: never[]) => void>();
  return {
    listeners,
    bind: (_port, _address, callback) => setImmediate(callback),
    on: ((event: string, listener: (...a: never[]) => void) =>
      listeners.set(event, listener)) as DatagramSocket['on'],
    off: () => listeners.delete('error'),
    setMulticastTTL: () => undefined,
    setMulticastLoopback: () => undefined,
    setMulticastInterface: () => undefined,
    addMembership: () => undefined,
    send: (_packet, _port, _address, callback) => setImmediate(() => callback(null)),
    close: callback => setImmediate(() => callback?.()),
    ...overrides,
  };
}

/** A gossip socket over a fake whose `method` throws an errno error with `code`. */
function throwingAt(method: 'bind' | 'setMulticastInterface', code: string): GossipSocket {
  const fail = () => {
    throw errno(code);
  };
  return new GossipSocket(
    settings,
    () => undefined,
    () => undefined,
    () => socket({ [method]: fail }),
  );
}

describe('GossipSocket', () => {
  const noop = () => undefined;

  it('maps a bind that throws to a bind error naming the port', async () => {
    const gossip = throwingAt('bind', 'EACCES');
    const error = await gossip.open();
    expect(error).toBeInstanceOf(GossipSocketError);
    expect(error).toMatchObject({
      code: 'ERR_GOSSIP_SOCKET',
      operation: 'bind',
      syscallCode: 'EACCES',
    });
    expect(error!.message).toContain('bind UDP port 45892 (EACCES)');
    expect(gossip.ready).toBe(false);
  });

  it('maps a refused interface to a join error naming the interface and both fixes', async () => {
    const gossip = throwingAt('setMulticastInterface', 'EADDRNOTAVAIL');
    const error = await gossip.open();
    expect(error).toMatchObject({ operation: 'join', syscallCode: 'EADDRNOTAVAIL' });
    expect(error!.message).toContain('join the multicast group 239.255.43.69 on eth9');
    expect(error!.message).toMatch(/ip route add 224\.0\.0\.0\/4 dev \S+\)/);
    expect(error!.message).toContain('"interface"');
  });

  it('maps a send that throws or fails, and passes later socket errors to onError', async () => {
    const reported: GossipSocketError[] = [];
    let calls = 0;
    const fake = socket({
      send: (_p, _port, _address, callback) => {
        if (calls++ === 0) throw errno('EBADF');
        setImmediate(() => callback(errno('ENETUNREACH')));
      },
    });
    const gossip = new GossipSocket(
      settings,
      noop,
      e => reported.push(e),
      () => fake,
    );
    expect(await gossip.open()).toBeUndefined();
    expect(gossip.ready).toBe(true);
    expect(await gossip.send(Buffer.from('x'))).toMatchObject({ syscallCode: 'EBADF' });
    expect(await gossip.send(Buffer.from('x'))).toMatchObject({
      operation: 'send',
      syscallCode: 'ENETUNREACH',
    });
    fake.listeners.get('error')!(errno('EIO') as never);
    expect(reported).toHaveLength(1);
    await gossip.close();
    expect(await gossip.send(Buffer.from('x'))).toBeInstanceOf(GossipSocketError);
  });

  it('hands every datagram to onMessage with its source address', async () => {
    const got: string[] = [];
    const fake = socket();
    const gossip = new GossipSocket(
      settings,
      (m, from) => got.push(`${m}@${from}`),
      noop,
      () => fake,
    );
    await gossip.open();
    fake.listeners.get('message')!(Buffer.from('hi') as never, { address: '10.0.0.2' } as never);
    expect(got).toEqual(['hi@10.0.0.2']);
  });
});

describe('GossipSocket close during a bind', () => {
  it('closes a real socket whose bind finishes after close(), instead of keeping it', async () => {
    const real = createSocket({ type: 'udp4', reuseAddr: true });
    const realBind = real.bind.bind(real) as (p: number, a: string, c: () => void) => unknown;
    let bound!: () => void;
    const slowBind = new Promise<void>(resolve => (bound = resolve));
    const gossip = new GossipSocket(
      { ...settings, port: 0, interface: undefined, interfaceAddress: undefined },
      () => undefined,
      () => undefined,
      () =>
        Object.assign(real, {
          // the bind completes only when the spec lets it, after close() returned
          bind: (port: number, address: string, callback: () => void) =>
            realBind(port, address, () => void slowBind.then(callback)),
        }) as unknown as DatagramSocket,
    );
    const opening = gossip.open();
    await gossip.close();
    bound();
    expect(await opening).toBeUndefined();
    expect(gossip.ready).toBe(false);
    expect(() => real.address()).toThrow(/not running/i);
    expect(await gossip.open()).toBeUndefined(); // closed for good: no new socket
    expect(gossip.ready).toBe(false);
  });
});

describe('GossipSocket deadlines', () => {
  it('gives up on a bind or a send that never completes', async () => {
    const stuck = new GossipSocket(
      settings,
      () => undefined,
      () => undefined,
      () => socket({ bind: () => undefined }),
    );
    const bind = await stuck.open();
    expect(bind).toMatchObject({ operation: 'bind' });
    expect(bind!.message).toContain(`no completion within ${SOCKET_DEADLINE_MS} ms`);

    const mute = new GossipSocket(
      settings,
      () => undefined,
      () => undefined,
      () => socket({ send: () => undefined }),
    );
    expect(await mute.open()).toBeUndefined();
    expect(await mute.send(Buffer.from('x'))).toMatchObject({ operation: 'send' });
  });
});
