import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux's default ephemeral range, when /proc does not tell. */
const DEFAULT_EPHEMERAL_FIRST = 32_768;
const LOWEST = 20_000;

const canListen = (host: string, port: number) =>
  new Promise<boolean>(resolve => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });

/** The first port of the kernel's ephemeral range (ports it hands to `connect` and `listen(0)`). */
function ephemeralFirst(): number {
  try {
    const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/);
    const port = Number(first);
    return Number.isInteger(port) && port > LOWEST + 1_000 ? port : DEFAULT_EPHEMERAL_FIRST;
  } catch {
    return DEFAULT_EPHEMERAL_FIRST;
  }
}

/**
 * `count` distinct free ports on `host` below the kernel's ephemeral range, for nodes that stop
 * and start again on the same port. A port from `freePort()` is an ephemeral one: while its node
 * is down, an outgoing connection (a peer dialling it, an HTTP poll) or another process's
 * `listen(0)` may be given it, and the node cannot start again.
 */
export async function portsForRestarts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const first = ephemeralFirst();
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < 50 * count; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (first - LOWEST));
    if (!ports.has(port) && (await canListen(host, port))) ports.add(port);
  }
  if (ports.size < count) throw new Error(`No ${count} free ports below ${first} on ${host}`);
  return [...ports];
}
