import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError, toError } from '../../core/index.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Where the cookie lives when none is configured (as `~/.erlang.cookie`). */
export const defaultCookieFile = (): string => join(homedir(), '.gen-cluster.cookie');

/**
 * The shared secret of the cluster: `cookie` if given, else the content of `cookieFile`, else the
 * default file, created with 32 random bytes (hex) and mode 0600 when missing. A cookie file that
 * others may read is refused, as Erlang refuses one.
 */
export function resolveCookie(options: { cookie?: string; cookieFile?: string }): Buffer {
  if (options.cookie !== undefined) {
    if (typeof options.cookie !== 'string') {
      // Never quote the value: it is the secret, whatever its type.
      throw new InvalidConfigError(M.cookieNotAString(typeof options.cookie), { option: 'cookie' });
    }
    if (options.cookie.length === 0) {
      throw new InvalidConfigError(M.cookieEmpty(), { option: 'cookie' });
    }
    return Buffer.from(options.cookie, 'utf8');
  }
  const file = options.cookieFile ?? defaultCookieFile();
  if (options.cookieFile === undefined) createIfMissing(file);
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const stat = fstatSync(fd);
      // A directory opens for reading like a file; its mode would only lead to bad advice.
      if (stat.isDirectory()) {
        throw new InvalidConfigError(
          options.cookieFile === undefined
            ? M.defaultCookieFileIsDirectory(file)
            : M.cookieFileIsDirectory(file),
          { option: 'cookieFile' },
        );
      }
      const mode = stat.mode;
      if (mode & 0o077) {
        throw new InvalidConfigError(M.cookieFileOpen(file, mode & 0o777), {
          option: 'cookieFile',
        });
      }
      text = readFileSync(fd, 'utf8').trim();
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof InvalidConfigError) throw error;
    throw new InvalidConfigError(M.cookieFileUnreadable(file, toError(error).message), {
      option: 'cookieFile',
      cause: error,
    });
  }
  if (!text) throw new InvalidConfigError(M.cookieFileEmpty(file));
  return Buffer.from(text, 'utf8');
}

/** Creates the file atomically (write a private temp file, then link it), so racing starts agree. */
function createIfMissing(file: string): void {
  if (existsSync(file)) return;
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, randomBytes(32).toString('hex'));
    } finally {
      closeSync(fd);
    }
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new InvalidConfigError(M.cookieFileNotCreated(file, toError(error).message));
    }
  } finally {
    rmSync(temp, { force: true });
  }
}
