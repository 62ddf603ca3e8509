import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A private copy of the built library and the chaos node program, for one run. */
export interface BuildSnapshot {
  /** The node program to start (inside the copy). */
  readonly script: string;
  /** Deletes the copy. */
  remove(): void;
}

/**
 * Copies `dist/src`, package.json and test/chaos/chaos-process.mjs to a temporary directory (with
 * a link to node_modules), and checks that the copy loads. Several engineers rebuild `dist/` while
 * a soak runs for minutes: a node restarted in the middle of someone's build would load half-written
 * files and "crash". A copy that does not load (taken in the middle of a build) is taken again.
 */
export async function snapshotBuild(attempts = 5): Promise<BuildSnapshot> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'gen-cluster-chaos-'));
    try {
      cpSync(join(root, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
      copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
      cpSync(
        join(root, 'test', 'chaos', 'chaos-process.mjs'),
        join(dir, 'test', 'chaos', 'chaos-process.mjs'),
      );
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
      await run(process.execPath, [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(join(dir, 'dist', 'src', 'index.js'))})`,
      ]);
      return {
        script: join(dir, 'test', 'chaos', 'chaos-process.mjs'),
        remove: () => rmSync(dir, { recursive: true, force: true }),
      };
    } catch (error) {
      lastError = error;
      rmSync(dir, { recursive: true, force: true });
      await new Promise(resolve => setTimeout(resolve, 2_000));
    }
  }
  throw new Error(`dist/src does not load (run "npm run build"): ${String(lastError)}`);
}
