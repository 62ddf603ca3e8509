import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../../../test/support/wait.js';
import { HostsFileWatcher, type HostsFileWatcherOptions } from './hosts-watcher.js';

let dir: string;
const watchers: HostsFileWatcher[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `gc-hosts-watch-${process.pid}-`));
});
afterEach(async () => {
  for (const w of watchers.splice(0)) w.close();
  await rm(dir, { recursive: true, force: true });
});

/** A started watcher of `file` counting its calls; the poll is an hour unless a test says. */
async function watcher(file: string, options: Partial<HostsFileWatcherOptions> = {}) {
  const calls = { changes: 0, watchErrors: [] as Error[] };
  const w = new HostsFileWatcher({
    file,
    watch: true,
    pollIntervalMs: 3_600_000,
    debounceMs: 20,
    onChange: () => calls.changes++,
    onWatchError: (_directory, error) => calls.watchErrors.push(error),
    ...options,
  });
  watchers.push(w);
  await w.start();
  return { w, calls };
}

describe('HostsFileWatcher', () => {
  it('sees an in-place write through the directory watch (no poll within the test)', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@h\n');
    const { w, calls } = await watcher(file);
    expect(w.watching).toBe(true);
    await writeFile(file, 'a@h\nb@h\n');
    await until(() => calls.changes >= 1, 5_000, 'a change from the watch');
  });

  it('sees an atomic rename over the file, and the edits after it', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@h\n');
    const { calls } = await watcher(file);
    await writeFile(join(dir, '.cluster.hosts.tmp'), 'a@h\nb@h\n');
    await rename(join(dir, '.cluster.hosts.tmp'), file);
    await until(() => calls.changes >= 1, 5_000, 'a change after the rename');
    // the watch is on the directory, so it outlives the replaced inode
    const before = calls.changes;
    await writeFile(file, 'c@h\n');
    await until(() => calls.changes > before, 5_000, 'a change after an edit of the new file');
  });

  it("sees a Kubernetes ConfigMap update (the '..data' symlink swapped)", async () => {
    // the layout the kubelet writes: hosts -> ..data/hosts, ..data -> ..<timestamp>
    await mkdir(join(dir, '..2026_01'));
    await writeFile(join(dir, '..2026_01', 'hosts'), 'a@h\n');
    await symlink('..2026_01', join(dir, '..data'));
    await symlink(join('..data', 'hosts'), join(dir, 'hosts'));
    const { calls } = await watcher(join(dir, 'hosts'));
    await mkdir(join(dir, '..2026_02'));
    await writeFile(join(dir, '..2026_02', 'hosts'), 'a@h\nb@h\n');
    await symlink('..2026_02', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await until(() => calls.changes >= 1, 5_000, 'a change after the symlink swap');
  });

  it('polls alone with watch: false, and sees a same-size rewrite by its modification time', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@h\n');
    await utimes(file, 1_000_000.5, 1_000_000.5);
    const { w, calls } = await watcher(file, { watch: false, pollIntervalMs: 30 });
    expect(w.watching).toBe(false);
    await writeFile(file, 'b@h\n');
    await utimes(file, 1_000_001.5, 1_000_001.5);
    await until(() => calls.changes >= 1, 5_000, 'the poll to see the new mtime');
  });

  it('reports a file whose modification time is in whole seconds at every poll (coarse file systems)', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@h\n');
    await utimes(file, 1_000_000, 1_000_000);
    const { calls } = await watcher(file, { watch: false, pollIntervalMs: 20 });
    await until(() => calls.changes >= 3, 5_000, 'a call at each poll');
  });

  it('falls back to polling when the directory cannot be watched, saying so once', async () => {
    const missing = join(dir, 'not-yet', 'cluster.hosts');
    const { w, calls } = await watcher(missing, { pollIntervalMs: 30 });
    expect(w.watching).toBe(false);
    expect(calls.watchErrors).toHaveLength(1);
    expect((calls.watchErrors[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
    await mkdir(join(dir, 'not-yet'));
    await writeFile(missing, 'a@h\n');
    await until(() => calls.changes >= 1, 5_000, 'the poll to see the file appear');
    expect(calls.watchErrors).toHaveLength(1);
  });

  it('makes one call of a burst of events within the debounce window', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, '');
    const { calls } = await watcher(file, { debounceMs: 300 });
    const started = performance.now();
    for (let i = 0; i < 20; i++) await writeFile(file, `n${i}@h\n`);
    const windows = Math.ceil((performance.now() - started) / 300);
    await until(() => calls.changes >= 1, 5_000, 'the debounced change');
    // one call per window the writes spanned (one, unless the machine is very slow), not 20
    expect(calls.changes).toBeLessThanOrEqual(windows + 1);
  });
});
