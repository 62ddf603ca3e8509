import { createServer } from 'node:net';

const canListen = (host: string, port: number) =>
  new Promise<boolean>(resolve => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });

/** A port that is free on every one of `hosts` (loopback addresses), for "pods" sharing one port. */
export async function freeSharedPort(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(hosts.map(h => canListen(h, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`No port free on all of ${hosts.join(', ')}`);
}

/** A free TCP port on `host` (loopback by default), chosen by the kernel. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
