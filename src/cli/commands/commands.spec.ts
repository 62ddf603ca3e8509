/**
 * The commands over a scripted system client: what each prints, and how a node that never
 * answers, an older node and an unknown node end the command (exit 4, 5, 3).
 */
import type { SystemClient, SystemInfo } from '../../primitives/index.js';
import { until } from '../../../test/support/wait.js';
import { CliError, describeFailure } from '../cli.errors.js';
import type { CommandContext } from './command.js';
import { infoCommand } from './info.js';
import { membersCommand } from './members.js';
import { pingCommand } from './ping.js';
import { watchCommand } from './watch.js';

const A = 'a@h';
const B = 'b@h';
const SELF = 'gen-cluster-cli-1@h';

const infoOf = (node: string, members: string[], seq = 0): SystemInfo => ({
  v: 1,
  node,
  version: '0.1.0',
  uptimeS: 1,
  dist: 'tcp',
  state: 'running',
  members,
  discovered: members,
  peers: members.map(m => ({ node: m })),
  served: [],
  events: [],
  seq,
});

const timeoutError = () => Object.assign(new Error('timed out'), { code: 'ERR_REQUEST_TIMEOUT' });
const noHandler = () => Object.assign(new Error('no handler'), { code: 'ERR_NO_HANDLER' });

function context(client: Partial<SystemClient>, members = [A, B]): CommandContext {
  return {
    client: client as SystemClient,
    members: () => members,
    requireMember: node => {
      if (!members.includes(node))
        throw new CliError(`no such node: ${node}`, { code: 'ERR_NO_SUCH_NODE', exitCode: 3 });
    },
    timeoutMs: 300,
  };
}

async function exitOf(work: Promise<unknown>): Promise<number> {
  try {
    await work;
  } catch (error) {
    return describeFailure(error).exitCode;
  }
  return 0;
}

describe('CLI commands', () => {
  it('members leaves the CLI itself out and marks older nodes', async () => {
    const output = await membersCommand(
      context({
        overview: () =>
          Promise.resolve({
            self: SELF,
            nodes: [
              { node: A, ok: true, info: infoOf(A, [B]) },
              { node: B, ok: false, older: true, error: 'no handler' },
              { node: SELF, ok: false, older: true, error: 'no handler' },
            ],
          }),
      }),
      undefined,
    );
    expect(output.json).toEqual({
      nodes: [
        { node: A, members: [B] },
        { node: B, older: true, error: 'no handler' },
      ],
    });
    expect(output.text).not.toContain(SELF);
  });

  it('info exits 4 when the node never answers, 5 when it is older, 3 when unknown', async () => {
    const never = context({ info: () => Promise.reject(timeoutError()) });
    expect(await exitOf(infoCommand(never, A))).toBe(4);
    const older = context({ info: () => Promise.reject(noHandler()) });
    expect(await exitOf(infoCommand(older, A))).toBe(5);
    expect(await exitOf(infoCommand(older, 'z@h'))).toBe(3);
    const ok = context({ info: node => Promise.resolve(infoOf(node, [B])) });
    expect((await infoCommand(ok, A)).json).toEqual(infoOf(A, [B]));
  });

  it('ping asks count times and exits 4 on a timeout', async () => {
    let asked = 0;
    const output = await pingCommand(context({ ping: () => Promise.resolve(++asked) }), B, 4);
    expect(asked).toBe(4);
    expect(output.json).toMatchObject({ node: B, rttMs: [1, 2, 3, 4], minMs: 1, maxMs: 4 });
    expect(
      await exitOf(pingCommand(context({ ping: () => Promise.reject(timeoutError()) }), B, 2)),
    ).toBe(4);
    expect(await exitOf(pingCommand(context({}), 'z@h', 2))).toBe(3);
  });

  it('members --node asks that node only', async () => {
    const output = await membersCommand(
      context({ info: node => Promise.resolve(infoOf(node, [A])) }),
      B,
    );
    expect(output.text).toBe(`${B}  members: ${A}`);
  });

  it('watch prints only events after it started, each once, until stopped', async () => {
    const pages = new Map<string, number>([[A, 2]]);
    const lines: string[] = [];
    const stop = new AbortController();
    const client: Partial<SystemClient> = {
      overview: () =>
        Promise.resolve({ self: SELF, nodes: [{ node: A, ok: true, info: infoOf(A, [], 2) }] }),
      events: (node, since) => {
        const seq = (pages.get(node) ?? 0) + 1;
        pages.set(node, seq);
        const events = [
          {
            seq,
            at: `2026-01-01T00:00:0${seq}.000Z`,
            type: 'nodeDown' as const,
            node: B,
            reason: 'left',
          },
        ].filter(e => e.seq > since);
        return Promise.resolve({ seq, events, gap: false });
      },
    };
    const watching = watchCommand(
      { ...context(client, [A]), expand: () => Promise.resolve(), learn: () => 0 },
      { json: false, write: line => lines.push(line), signal: stop.signal, intervalMs: 10 },
    );
    await until(() => lines.length >= 3, 5_000, 'two polls printed');
    stop.abort();
    await watching;
    expect(lines[0]).toBe(`watching 1 node: ${A} (Ctrl-C stops)`);
    expect(lines[1]).toBe(`2026-01-01T00:00:03.000Z ${A} nodeDown ${B} (left)`);
    expect(lines[2]).toBe(`2026-01-01T00:00:04.000Z ${A} nodeDown ${B} (left)`);
  });

  it('members and info read a malformed answer as empty, never exit 2', async () => {
    const bad = {
      ...infoOf(A, []),
      members: 5,
      served: null,
      events: 'x',
    } as unknown as SystemInfo;
    const members = await membersCommand(
      context({
        overview: () =>
          Promise.resolve({
            self: SELF,
            nodes: [
              { node: A, ok: true, info: bad },
              { node: B, ok: true, info: null as unknown as SystemInfo },
            ],
          }),
      }),
      undefined,
    );
    expect(members.text).toBe(`${A}  members: -\n${B}  members: -`);
    const info = await infoCommand(context({ info: () => Promise.resolve(bad) }), A);
    expect(info.text).toContain('members     -');
    expect(info.text).toContain('events (last 0):');
  });

  it('watch survives a malformed overview and learn that throws', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const client: Partial<SystemClient> = {
      overview: () =>
        Promise.resolve({
          self: SELF,
          nodes: [
            { node: A, ok: true, info: null as unknown as SystemInfo },
            { node: B, ok: true, info: { ...infoOf(B, []), peers: 7 } as unknown as SystemInfo },
          ],
        }),
      events: () =>
        Promise.resolve({
          seq: 1,
          events: [
            null,
            { seq: 1, at: 'T1', type: 'nodeUp' as const, node: `x\u001b[2J@h\r` },
          ] as never,
          gap: false,
        }),
    };
    const learn = (): number => {
      throw new TypeError('bad peers');
    };
    const watching = watchCommand(
      { ...context(client, [A]), expand: () => Promise.resolve(), learn },
      { json: false, write: line => lines.push(line), signal: stop.signal, intervalMs: 10 },
    );
    await until(() => lines.some(l => l.includes('nodeUp')), 5_000, 'an event printed');
    stop.abort();
    await watching;
    expect(lines).toContain(`T1 ${A} nodeUp x[2J@h`);
  });

  it('watch asks a restarted node (new boot id) from 0, so no event of its new run is skipped', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const event = (seq: number) => ({
      seq,
      at: `T${seq}`,
      type: 'nodeUp' as const,
      node: `n${seq}@h`,
    });
    const asked: number[] = [];
    let polls = 0;
    const client: Partial<SystemClient> = {
      // The first run had seen 3 events.
      overview: () =>
        Promise.resolve({
          self: SELF,
          nodes: [{ node: A, ok: true, info: { ...infoOf(A, [], 3), boot: 'run-1' } }],
        }),
      // It restarted and recorded 5 events since: past the saved 3.
      events: (_node, since) => {
        asked.push(since);
        polls++;
        const all = [1, 2, 3, 4, 5].map(event);
        return Promise.resolve({
          seq: 5,
          events: all.filter(e => e.seq > since),
          gap: false,
          boot: 'run-2',
        });
      },
    };
    const watching = watchCommand(
      { ...context(client, [A]), expand: () => Promise.resolve(), learn: () => 0 },
      { json: false, write: line => lines.push(line), signal: stop.signal, intervalMs: 10 },
    );
    await until(() => polls >= 4, 5_000, 'a few polls');
    stop.abort();
    await watching;
    expect(asked.slice(0, 3)).toEqual([3, 0, 5]);
    expect(lines.slice(1)).toEqual([1, 2, 3, 4, 5].map(seq => `T${seq} ${A} nodeUp n${seq}@h`));
  });
});
