import { hostname } from 'node:os';
import { canonicalHost } from './peer.js';

/**
 * The name a node takes when none is configured: `node-<pid>@<hostname>`, unique per process on
 * this host (the local port mapper keys registrations by it).
 */
export function defaultNodeName(pid: number = process.pid, host: string = hostname()): string {
  return `node-${pid}@${canonicalHost(host) ?? 'localhost'}`;
}
