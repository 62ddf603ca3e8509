/**
 * Reads a hosts file within its size bound, so that a file replaced by something huge (or by a
 * FIFO, a device, a directory) costs a refusal and never memory or a blocked thread.
 */
import { open, stat } from 'node:fs/promises';
import { DiscoveryError, toError } from '../../core/index.js';
import { HOSTS_FILE_LIMITS } from './hosts-file.js';
import { HostsMessages } from './hosts.messages.js';

const CHUNK_BYTES = 64 * 1024;

/**
 * The bytes of `file`, at most {@link HOSTS_FILE_LIMITS}.maxBytes.
 * @throws DiscoveryError when the file is missing, unreadable, not a regular file or too large.
 */
export async function readHostsFile(file: string): Promise<Buffer> {
  const max = HOSTS_FILE_LIMITS.maxBytes;
  try {
    // A FIFO would block the open (and a thread of the pool) until a writer came: stat first.
    const info = await stat(file);
    if (!info.isFile()) throw new DiscoveryError(HostsMessages.notAFile(file));
    if (info.size > max) throw new DiscoveryError(HostsMessages.tooLarge(file, max));
    const handle = await open(file, 'r');
    try {
      // Read to the end, not to the size seen: the file may have changed since the stat.
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const want = total === 0 ? info.size + 1 : CHUNK_BYTES;
        const chunk = Buffer.alloc(Math.min(want, max + 1 - total));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        chunks.push(chunk.subarray(0, bytesRead));
        total += bytesRead;
        if (total > max) throw new DiscoveryError(HostsMessages.tooLarge(file, max));
      }
      return Buffer.concat(chunks, total);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof DiscoveryError) throw error;
    throw new DiscoveryError(HostsMessages.unreadable(file, toError(error)), { cause: error });
  }
}
