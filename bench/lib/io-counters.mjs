// Linux counters the idle-cost measurement reads: what a process wrote (/proc/PID/io) and the
// loopback interface's transmitted bytes (/proc/net/dev). NaN or null where they are missing.
import { readFileSync } from 'node:fs';

/** Bytes written and read by process `pid` (wchar, rchar), or null if /proc cannot tell. */
export function procIo(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = key => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { wchar: get('wchar'), rchar: get('rchar') };
  } catch {
    return null;
  }
}

/** Bytes transmitted on the loopback interface since boot, or NaN. */
export function loopbackTx() {
  try {
    const line = readFileSync('/proc/net/dev', 'utf8')
      .split('\n')
      .find(l => l.trim().startsWith('lo:'));
    return Number(line.split(':')[1].trim().split(/\s+/)[8]);
  } catch {
    return NaN;
  }
}
