import { connect } from 'node:net';
import type { ClusterLogger } from '../core/index.js';
import { PortMapperServer } from './port-mapper.server.js';

const servers: PortMapperServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map(s => s.close()));
});

/** An ALIVE2_REQ frame for `name`, as written by an OTP 23+ node. */
function alive2Frame(name: Buffer): Buffer {
  const body = Buffer.alloc(13 + name.length);
  body[0] = 120;
  body.writeUInt16BE(40_000, 1);
  body[3] = 77;
  body.writeUInt16BE(6, 5);
  body.writeUInt16BE(5, 7);
  body.writeUInt16BE(name.length, 9);
  name.copy(body, 11);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(body.length);
  return Buffer.concat([head, body]);
}

/** Sends `bytes` on a fresh connection and resolves with the answer once the mapper closes. */
function send(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(bytes));
    socket.on('data', chunk => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

describe('PortMapperServer', () => {
  it('logs hostile input from one source once per window, however often it comes', async () => {
    const lines: string[] = [];
    const logger: ClusterLogger = {
      debug: line => lines.push(line),
      log: () => undefined,
      warn: line => lines.push(line),
      error: line => lines.push(line),
    };
    const server = await PortMapperServer.start({ port: 0, logger });
    servers.push(server);
    for (let i = 0; i < 3; i++) {
      // A NUL inside the name: refused with an error answer (epmd's name_with_null_inside).
      const answer = await send(server.port, alive2Frame(Buffer.from('ab\0cd')));
      expect(answer).toEqual(Buffer.of(118, 1, 0, 0, 0, 99));
    }
    expect(lines.filter(line => line.includes('Invalid EPMD node name'))).toHaveLength(1);
    expect(server.size).toBe(0);
  });

  it('refuses bad options before listening', async () => {
    await expect(PortMapperServer.start({ port: 70_000 })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
  });
});
