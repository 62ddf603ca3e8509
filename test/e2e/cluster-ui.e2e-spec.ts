import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { CLUSTER_UI_PAGE } from '../../sample/cluster-ui/page.js';
import { type SampleNode, startNode, staticNodeEnv, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

/**
 * The sample's live page (`GET /cluster/ui`) in a real browser: Debian's headless Chromium
 * (/usr/bin/chromium, from the `chromium` package; no browser download) driven by playwright-core.
 * Three sample processes; the page served by the first must show every node with its links, and a
 * node killed with kill -9 marked down, with the event, without a reload. A screenshot is saved to
 * test-artifacts/cluster-ui.png after the run, failed or not.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'test-artifacts', 'cluster-ui.png');
/** The TCP dist's default failure timeout; kill -9 closes the connection at once on loopback. */
const FAILURE_TIMEOUT_MS = 5_000;
const MARGIN_MS = 3_000;

/** What the page shows of one node. */
interface Card {
  readonly node: string;
  readonly state: string | null;
  readonly links: string[];
  readonly text: string;
}

/**
 * Runs in the page (the test's TypeScript has no DOM types, so the browser side is a string):
 * every node card with its state, links and text.
 */
const CARDS = `Array.from(document.querySelectorAll('article[data-node]')).map(e => ({
  node: e.getAttribute('data-node'),
  state: e.getAttribute('data-state'),
  links: Array.from(e.querySelectorAll('[data-link]')).map(l => l.getAttribute('data-link')),
  text: e.textContent,
}))`;

const cards = (page: Page): Promise<Card[]> => page.evaluate<Card[]>(CARDS);

/** Debian's Chromium, headless, with a throwaway profile. */
function launchChromium(userDataDir: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `The live page test needs Debian's "chromium" at ${CHROMIUM}. Install it as root:\n  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium`,
    );
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 720 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

describe('the live cluster page in headless Chromium', () => {
  const names = ['a', 'b', 'c'].map(n => `${n}@127.0.0.1`);
  let nodes: SampleNode[] = [];
  let userDataDir: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const requested: string[] = [];
  let origin = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) await launchChromium(''); // throws, saying how to install it
    const ports = await Promise.all(names.map(() => freePort()));
    nodes = await Promise.all(
      names.map((_, i) => startNode(staticNodeEnv(names, ports, i), { timeoutMs: 30_000 })),
    );
    origin = `http://127.0.0.1:${nodes[0]!.http}`;
    userDataDir = mkdtempSync(join(tmpdir(), `gen-cluster-chromium-${process.pid}-`));
    context = await launchChromium(userDataDir);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', request => requested.push(request.url()));
  });

  afterAll(async () => {
    try {
      if (page) {
        mkdirSync(dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
      }
    } finally {
      await context?.close();
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
      await stopAll();
    }
  });

  it('shows every node up with its two links, from the page alone (no outside asset)', async () => {
    const response = await page!.goto(`${origin}/cluster/ui`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    await page!.waitForFunction(
      `${CARDS}.filter(c => c.state === 'up' && c.links.length === 2).length === 3`,
      undefined,
      { timeout: 15_000 },
    );
    const shown = await cards(page!);
    expect(shown.map(c => c.node)).toEqual(names);
    for (const card of shown)
      expect(card.links.sort()).toEqual(names.filter(name => name !== card.node));
    expect(await page!.textContent('#self')).toBe(names[0]);
    expect(requested.every(url => url.startsWith(`${origin}/`))).toBe(true);
  });

  it('marks a node killed with kill -9 down, with its reason and the event, and keeps showing it', async () => {
    const [, , c] = nodes as [SampleNode, SampleNode, SampleNode];
    const killed = names[2]!;
    await c.kill();
    const killedAt = performance.now();
    await page!.waitForSelector(`article[data-node="${killed}"][data-state="down"]`, {
      timeout: FAILURE_TIMEOUT_MS + MARGIN_MS,
    });
    expect(performance.now() - killedAt).toBeLessThan(FAILURE_TIMEOUT_MS + MARGIN_MS);
    await page!.waitForSelector(`#events tr[data-type="nodeDown"][data-node="${killed}"]`, {
      timeout: 2_000,
    });
    const row = await page!.textContent(`#events tr[data-type="nodeDown"][data-node="${killed}"]`);
    expect(row).toContain('connectionClosed');
    // Two overviews later (every 2 s) the node, gone from every member list, is still shown down.
    const updated = await page!.textContent('#updated');
    await until(
      async () => (await page!.textContent('#updated')) !== updated,
      6_000,
      'a new overview',
    );
    await until(
      async () => {
        const shown = await cards(page!);
        return shown.filter(card => card.state === 'up').every(card => card.links.length === 1);
      },
      6_000,
      'the survivors listing one link each',
    );
    const shown = await cards(page!);
    expect(shown.map(card => [card.node, card.state])).toEqual([
      [names[0], 'up'],
      [names[1], 'up'],
      [killed, 'down'],
    ]);
    expect(shown[2]!.text).toContain('connectionClosed');
  });
});

/**
 * The page alone, fed by a stand-in for EventSource (the page's only input), with answers a
 * misbehaving node could send: one malformed entry must not freeze the overview, and a node
 * listing thousands of made-up names must not add thousands of cards.
 */
describe('the live cluster page with malformed answers', () => {
  let userDataDir: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  /** Replaces EventSource: `__emit(type, data)` delivers one message to the page's listeners. */
  const FEED = `<script>
    window.__errors = [];
    window.EventSource = function () { this.listeners = {}; window.__source = this; };
    window.EventSource.prototype.addEventListener = function (type, f) {
      (this.listeners[type] = this.listeners[type] || []).push(f);
    };
    window.__emit = function (type, data) {
      (window.__source.listeners[type] || []).forEach(function (f) {
        try { f({ data: JSON.stringify(data) }); } catch (e) { window.__errors.push(String(e)); }
      });
    };
  </script>`;
  const emit = (type: string, data: unknown) =>
    page!.evaluate(
      ([t, d]) =>
        (globalThis as unknown as { __emit: (t: unknown, d: unknown) => void }).__emit(t, d),
      [type, data] as const,
    );
  const good = (node: string, members: string[], discovered: unknown = members) => ({
    v: 1,
    node,
    version: '1.0.0',
    uptimeS: 1,
    dist: 'tcp',
    state: 'running',
    members,
    discovered,
    peers: [],
    served: [],
    events: [],
    seq: 0,
  });

  beforeAll(async () => {
    userDataDir = mkdtempSync(join(tmpdir(), `gen-cluster-chromium-${process.pid}-`));
    context = await launchChromium(userDataDir);
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('renders the well-formed entries of an overview with malformed ones, and keeps updating', async () => {
    await page!.setContent(CLUSTER_UI_PAGE.replace('<script>', `${FEED}\n<script>`));
    await emit('hello', { self: 'a@h', at: new Date().toISOString() });
    await emit('overview', {
      self: 'a@h',
      nodes: [
        { node: 'a@h', ok: true, info: good('a@h', ['b@h', 'c@h']) },
        {
          node: 'b@h',
          ok: true,
          info: { ...good('b@h', []), members: 5, discovered: 7, events: {} },
        },
        { node: 'c@h', ok: true, info: null },
        null,
        { node: 5, ok: true },
      ],
    });
    expect(await page!.evaluate('window.__errors')).toEqual([]);
    expect((await cards(page!)).map(c => [c.node, c.state])).toEqual([
      ['a@h', 'up'],
      ['b@h', 'up'],
      ['c@h', 'up'],
    ]);
    expect(await page!.textContent('#updated')).not.toBe('never');
    await emit('overview', {
      self: 'a@h',
      nodes: [
        { node: 'a@h', ok: true, info: good('a@h', ['b@h']) },
        { node: 'b@h', ok: true, info: good('b@h', ['a@h']) },
      ],
    });
    const shown = await cards(page!);
    expect(shown.map(c => [c.node, c.state, c.links])).toEqual([
      ['a@h', 'up', ['b@h']],
      ['b@h', 'up', ['a@h']],
      ['c@h', 'down', []],
    ]);
  });

  it('shows at most 256 cards whatever a node says it discovered', async () => {
    await page!.setContent(CLUSTER_UI_PAGE.replace('<script>', `${FEED}\n<script>`));
    await emit('hello', { self: 'a@h', at: new Date().toISOString() });
    const fake = Array.from({ length: 5_000 }, (_, i) => `<b>f${i}</b>@h`);
    await emit('overview', {
      self: 'a@h',
      nodes: [{ node: 'a@h', ok: true, info: good('a@h', [], fake) }],
    });
    const shown = await cards(page!);
    expect(shown).toHaveLength(256);
    expect(shown.some(c => c.node === 'a@h')).toBe(true);
    // Inserted as text: the names' markup is not parsed.
    expect(await page!.evaluate('document.querySelectorAll("#nodes b").length')).toBe(0);
  });
});
