import { hostname } from 'node:os';
import { canonicalHost } from './peer.js';

/**
 * The name a node takes when none is configured: `node-<pid>@<host>`, unique per process on this
 * host (the local port mapper keys registrations by it). The host is this machine's host name
 * unless the caller names another (a zero-configuration node passes the loopback address it
 * listens on).
 */
export function defaultNodeName(pid: number = process.pid, host: string = hostname()): string {
  return `node-${pid}@${canonicalHost(host) ?? 'localhost'}`;
}
