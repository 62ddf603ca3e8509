import { type Server, type Socket, createServer } from 'node:net';
import {
  connectToMapper,
  errnoOf,
  exchangeWithMapper,
  mapperAddress,
  stripBrackets,
} from './mapper-request.js';
import { PortMapperError } from './port-mapper.errors.js';

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map(s => new Promise(r => s.close(r))));
});

/** A TCP server that answers every request with `answer` (nothing when undefined). */
async function mapperAnswering(answer?: Buffer): Promise<number> {
  const server = createServer(socket => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => answer && socket.write(answer));
  });
  servers.push(server);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function connected(port: number): Promise<Socket> {
  const socket = await connectToMapper('127.0.0.1', port, 1_000, undefined);
  sockets.push(socket);
  return socket;
}

const whole = (bytes: Buffer) =>
  bytes.length >= 2 ? { value: bytes, rest: bytes.subarray(2) } : undefined;

describe('mapper requests', () => {
  it('writes host:port with IPv6 hosts in brackets, given bare or bracketed', () => {
    expect(mapperAddress('127.0.0.1', 14369)).toBe('127.0.0.1:14369');
    expect(mapperAddress('::1', 14369)).toBe('[::1]:14369');
    expect(mapperAddress('[::1]', 14369)).toBe('[::1]:14369');
    expect(stripBrackets('[::1]')).toBe('::1');
  });

  it('finds the system error code inside an AggregateError (a host with several addresses)', () => {
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(errnoOf(new AggregateError([new Error('x'), refused]))).toBe('ECONNREFUSED');
    expect(errnoOf(refused)).toBe('ECONNREFUSED');
    expect(errnoOf(new Error('plain'))).toBeUndefined();
  });

  it('reports a caller abort as ERR_PORT_MAPPER_ABORTED with the reason as cause', async () => {
    const reason = new Error('shutting down');
    const error = await connectToMapper('127.0.0.1', 1, 1_000, AbortSignal.abort(reason)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PortMapperError);
    expect(error).toMatchObject({ code: 'ERR_PORT_MAPPER_ABORTED', cause: reason });
  });

  it('times out a silent mapper with ERR_PORT_MAPPER_TIMEOUT and closes the socket', async () => {
    const socket = await connected(await mapperAnswering());
    const exchange = { address: 'm', what: 'NAMES_REQ', frame: Buffer.of(0, 1, 110) };
    await expect(
      exchangeWithMapper(socket, { ...exchange, parse: whole, timeoutMs: 100 }),
    ).rejects.toMatchObject({ code: 'ERR_PORT_MAPPER_TIMEOUT', errno: 'ETIMEDOUT' });
    expect(socket.destroyed).toBe(true);
  });

  it('with keepOpen, leaves the socket open and without listeners once answered', async () => {
    const socket = await connected(await mapperAnswering(Buffer.of(1, 2, 3)));
    const dataListeners = socket.listenerCount('data');
    const answer = await exchangeWithMapper(socket, {
      address: 'm',
      what: 'ALIVE2_REQ',
      frame: Buffer.of(0, 1, 120),
      parse: whole,
      timeoutMs: 1_000,
      keepOpen: true,
    });
    expect(answer.rest).toEqual(Buffer.of(3));
    expect(socket.destroyed).toBe(false);
    expect(socket.listenerCount('data')).toBe(dataListeners);
  });
});
