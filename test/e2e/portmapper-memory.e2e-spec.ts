/**
 * Port mapper memory over register/unregister rounds (issue 12, "Smaller findings"; reliability.md
 * §A.6 #55): a mapper in a process of its own takes 10 rounds of 1,000 registrations, each name
 * new (so epmd's list of unregistered names, which bumps creations, is filled and must stay
 * capped at 1,000), all held at once and then all closed. Its heap after garbage collection must
 * not grow from round to round once warm.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortMapperClient, type RegisteredNode } from '../../src/portmapper/index.js';
import { ManagedProcess } from '../support/managed-process.js';
import { waitForLine } from '../support/netns.js';
import { pool } from '../support/port-mapper-harness.js';
import { until } from '../support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAPPER = join(root, 'test', 'fixtures', 'port-mapper-memory.mjs');

interface Memory {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly rss: number;
  readonly size: number;
  readonly connections: number;
}

const MiB = 1024 * 1024;
/** Rounds before the heap is taken as the baseline: code warm-up, the unregistered-names list. */
const WARM_UP_ROUNDS = 2;
/**
 * Most the heap may grow over the 8 rounds after warm-up. A leak of the size reported (0.5 MiB
 * per 1,000 rounds) would add about 4 MiB; an uncapped list of unregistered names (200-byte
 * names here) about 2 MiB. Measured: within ±0.3 MiB.
 */
const HEAP_BOUND = 1 * MiB;

describe('port mapper memory over 10 × 1,000 register/unregister rounds', () => {
  let mapper: ManagedProcess | undefined;
  afterEach(async () => {
    mapper?.child.stdin?.end();
    await mapper?.stop(2_000);
  });

  it('keeps its heap flat after warm-up and every round fully unregistered', async () => {
    const child = spawn(process.execPath, ['--expose-gc', MAPPER], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    mapper = new ManagedProcess(child, { tag: '[mapper] ' });
    const ready = await waitForLine(mapper, /MAPPER_READY \{/, 10_000, 'the port mapper');
    const { port } = JSON.parse(/\{.*\}/.exec(ready)![0]) as { port: number };
    const client = new PortMapperClient({ port, connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 });

    let asked = 0;
    const memory = async (): Promise<Memory> => {
      const before = mapper!.output.filter(l => l.includes('MEMORY {')).length;
      asked++;
      child.stdin.write('m\n');
      await until(
        () => mapper!.output.filter(l => l.includes('MEMORY {')).length > before,
        10_000,
        'a memory report',
      );
      const line = mapper!.output.filter(l => l.includes('MEMORY {')).at(-1)!;
      return JSON.parse(/\{.*\}/.exec(line)![0]) as Memory;
    };

    const rounds: Memory[] = [await memory()];
    for (let round = 0; round < 10; round++) {
      const held: RegisteredNode[] = [];
      await pool(
        Array.from({ length: 1_000 }, (_, i) => i),
        100,
        async i => {
          const name = `round-${round}-node-${i}-`.padEnd(200, 'x');
          held.push(await client.register(name, 40_000 + i));
        },
      );
      expect(held).toHaveLength(1_000);
      await Promise.all(held.map(h => h.close()));
      await until(async () => (await memory()).size === 0, 10_000, 'every name unregistered');
      const after = await memory();
      expect(after.connections).toBe(0);
      rounds.push(after);
    }
    const heap = rounds.map(m => m.heapUsed);
    const growth = heap.at(-1)! - heap[WARM_UP_ROUNDS]!;
    // One line for the reliability page: the figures of this run.
    const mib = (n: number) => (n / MiB).toFixed(2);
    process.stdout.write(
      `port mapper memory after gc (MiB), start and rounds 1-10: heap ${heap.map(mib).join(' ')}; ` +
        `rss ${rounds.map(m => mib(m.rss)).join(' ')}\n`,
    );
    expect(asked).toBeGreaterThan(10);
    expect(growth).toBeLessThan(HEAP_BOUND);
  }, 240_000);
});
