import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError } from '../../core/index.js';
import { resolveCookie } from './cookie.js';

// The default cookie file (under HOME) is covered by test/e2e/dist-setup-errors: Jest's
// process.env is a copy, so HOME cannot be changed for os.homedir() in here.
describe('resolveCookie', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `gen-cluster-cookie-${process.pid}-`));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const failure = (options: Parameters<typeof resolveCookie>[0]) => {
    try {
      resolveCookie(options);
    } catch (error) {
      return error as InvalidConfigError;
    }
    throw new Error('resolveCookie accepted the options');
  };

  it('says a cookie file that is a directory is a directory, naming the option and variable', () => {
    const error = failure({ cookieFile: dir });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.option).toBe('cookieFile');
    expect(error.message).toContain(
      `The cookie file ${dir} (option cookieFile, variable GEN_CLUSTER_COOKIE_FILE) is a directory`,
    );
    expect(error.message).toContain('option cookie, variable GEN_CLUSTER_COOKIE');
    // the old advice (chmod 600 on a directory) fixed nothing
    expect(error.message).not.toContain('chmod');
  });

  it('still refuses a cookie file others may read, with the chmod that fixes it', () => {
    const file = join(dir, 'cookie');
    writeFileSync(file, 'secret');
    chmodSync(file, 0o644);
    const error = failure({ cookieFile: file });
    expect(error.option).toBe('cookieFile');
    expect(error.message).toContain(`run: chmod 600 ${file}`);
  });

  it('reads a private cookie file', () => {
    const file = join(dir, 'cookie');
    writeFileSync(file, 'secret\n', { mode: 0o600 });
    expect(resolveCookie({ cookieFile: file }).toString()).toBe('secret');
  });
});
