/**
 * Notices when a file may have changed: a watch on its directory (debounced) and a polling
 * timer that compares the file's identity, size and modification time. It only says "look
 * again"; the reader compares the content itself.
 */
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { toError } from '../../core/index.js';

/** Options of {@link HostsFileWatcher}. */
export interface HostsFileWatcherOptions {
  /** Absolute path of the file. */
  readonly file: string;
  /** Watch the directory as well as poll. */
  readonly watch: boolean;
  readonly pollIntervalMs: number;
  /** Directory events within this window after the first make one call of `onChange`. */
  readonly debounceMs: number;
  /** The file may have changed. */
  readonly onChange: () => void;
  /** The directory cannot be watched (any more): polling carries on alone. Called once. */
  readonly onWatchError: (directory: string, error: Error) => void;
}

/**
 * Watches the file's DIRECTORY rather than the file: an editor's or a deploy tool's atomic rename
 * and a Kubernetes ConfigMap update (which swaps the `..data` symlink) replace the file's inode,
 * and a watch on the old inode would go quiet. Events for the file's name, for names starting with
 * `..` (ConfigMap internals) and events without a name are taken; the rest of the directory is
 * ignored.
 *
 * The poll runs even while the watch works, because watches lose events on some file systems
 * (network mounts, overlays); it is chained and `unref`'d, so it never keeps a process alive.
 * A modification time in whole seconds suggests a coarse file system, where a same-size rewrite
 * within that second looks unchanged: such files are reported at every poll, for the reader to
 * compare their content.
 */
export class HostsFileWatcher {
  private readonly directory: string;
  private readonly name: string;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private signature: string | undefined;
  private closed = false;

  constructor(private readonly options: HostsFileWatcherOptions) {
    this.directory = dirname(options.file);
    this.name = basename(options.file);
  }

  /** Whether the directory watch is running (false with `watch: false` or after a watch error). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  /** Takes the file's current state as the baseline, then starts the watch and the poll. */
  async start(): Promise<void> {
    this.signature = await this.readSignature();
    if (this.closed) return;
    if (this.options.watch) this.startWatch();
    this.schedulePoll();
  }

  /** Stops the watch and the poll; no `onChange` after it. */
  close(): void {
    this.closed = true;
    this.stopWatch();
    clearTimeout(this.debounce);
    clearTimeout(this.poll);
  }

  private startWatch(): void {
    try {
      const watcher = watch(this.directory, { persistent: false }, (_event, filename) => {
        const name = filename === null ? null : String(filename);
        if (name === null || name === this.name || name.startsWith('..')) this.changedSoon();
      });
      watcher.on('error', error => this.watchFailed(error));
      this.watcher = watcher;
    } catch (error) {
      this.watchFailed(error);
    }
  }

  private watchFailed(error: unknown): void {
    this.stopWatch();
    if (!this.closed) this.options.onWatchError(this.directory, toError(error));
  }

  private stopWatch(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher === undefined) return;
    watcher.removeAllListeners('error');
    watcher.on('error', () => undefined);
    watcher.close();
  }

  private changedSoon(): void {
    if (this.closed || this.debounce !== undefined) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (!this.closed) this.options.onChange();
    }, this.options.debounceMs);
    this.debounce.unref();
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.poll = setTimeout(() => void this.pollOnce(), this.options.pollIntervalMs);
    this.poll.unref();
  }

  private async pollOnce(): Promise<void> {
    const signature = await this.readSignature();
    if (this.closed) return;
    const coarse = signature.endsWith(':coarse');
    if (signature !== this.signature || coarse) {
      this.signature = signature;
      this.options.onChange();
    }
    this.schedulePoll();
  }

  /** Identity, size and modification time of the file (through symlinks), or why it has none. */
  private async readSignature(): Promise<string> {
    try {
      const s = await stat(this.options.file);
      const coarse = s.mtimeMs % 1_000 === 0 ? ':coarse' : '';
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}${coarse}`;
    } catch (error) {
      return `error:${(error as NodeJS.ErrnoException).code ?? toError(error).message}`;
    }
  }
}
