import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface BenchRecord {
  name: string;
  stack: string;
  metric: string;
  value: number | null;
  unit: string;
  params: Record<string, unknown>;
}

/**
 * `npm run bench -- --quick` with a tiny budget: it runs every stack and section it is asked for
 * and writes valid JSON. No figure is checked against a timing: that is the benchmark's job.
 */
describe('bench/run.mjs --quick (smoke)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  const out = join(dir, 'latest.json');
  let child: ChildProcess | undefined;

  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes machine, node, date and well-formed records for every stack', async () => {
    const args = [
      join(root, 'bench', 'run.mjs'),
      '--quick',
      '--only=rr,oneway,formation,failure,refresh',
      '--cell-ms=100',
      '--in-flight=1',
      '--sizes=32',
      '--nodes=3',
      '--no-sigstop',
      '--refresh-sizes=10,100',
      `--out=${out}`,
    ];
    child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    const code = await new Promise<number | null>(resolve => child!.once('exit', resolve));
    if (code !== 0) throw new Error(`bench exited with ${code}:\n${output.join('').slice(-4000)}`);

    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      machine: { cores: number; cpu: string };
      node: string;
      date: string;
      records: BenchRecord[];
    };
    expect(result.node).toBe(process.version);
    expect(Number.isNaN(Date.parse(result.date))).toBe(false);
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.records.length).toBeGreaterThan(0);
    for (const record of result.records) {
      expect(typeof record.name).toBe('string');
      expect(typeof record.stack).toBe('string');
      expect(typeof record.metric).toBe('string');
      expect(typeof record.unit).toBe('string');
      expect(record.value === null || typeof record.value === 'number').toBe(true);
      expect(typeof record.params).toBe('object');
    }
    const rates = result.records.filter(
      r => r.name === 'request-response' && r.metric === 'round_trips_per_s',
    );
    expect(rates.map(r => r.stack).sort()).toEqual([
      '@nestjs/microservices TCP',
      'gen-cluster',
      'moleculer TCP',
      'raw net.Socket',
      'raw net.Socket, coalesced',
    ]);
    for (const rate of rates) expect(typeof rate.value).toBe('number');
    const names = new Set(result.records.map(r => r.name));
    for (const name of ['one-way', 'formation', 'failure-kill9', 'refresh', 'target'])
      expect(names.has(name)).toBe(true);
  }, 180_000);
});
