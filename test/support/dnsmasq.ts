import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ManagedProcess } from './managed-process.js';

/**
 * A real DNS server for tests: Debian's `dnsmasq`, started on a loopback port with no upstream and
 * only the records a test gives it.
 *
 * How it runs:
 * - `dnsmasq --no-daemon --log-facility=- --no-resolv --no-hosts --no-poll --bind-interfaces
 *   --listen-address=127.0.0.1 [--listen-address=::1] --port=<free high port>
 *   --conf-file=<temp file> --log-queries`. `--no-daemon` (rather than `--keep-in-foreground`)
 *   because it also writes no pid file, keeps the user, logs to stderr and answers TCP queries in
 *   the same process (no forked children to outlive a kill), so the one pid is all there is.
 * - The conf file starts with `local=/#/`: every name is answered from the file alone, so a name
 *   it does not hold is NXDOMAIN and a name with other types only is NODATA, as in a real zone.
 * - A and AAAA records are `host-record=` lines, which also give each address a PTR record to
 *   the first name holding it. When the test gives `ptr`, the PTR records are exactly those:
 *   addresses become `address=/name/ip` lines (no PTR; note `address=` also answers for
 *   subdomains of the name, and answers NXDOMAIN for the family a name lacks), plus one
 *   `ptr-record=` per entry. SRV records are `srv-host=` lines, TXT `txt-record=` lines.
 * - Records change with {@link Dnsmasq.setRecords}: dnsmasq re-reads its configuration file only
 *   at start (SIGHUP re-reads hosts files, never the conf file or SRV records), so the harness
 *   writes the new file and restarts the process on the same port, then waits until the new
 *   generation answers. Queries sent during the restart fail (connection refused), as when a
 *   server restarts for real.
 * - SERVFAIL: dnsmasq answers SERVFAIL for a zone named in `servfail`. It forwards that zone
 *   (`server=/<zone>/127.0.0.1#<port>`) to a second, record-less dnsmasq, and validates DNSSEC for
 *   it (`dnssec` plus a `trust-anchor=` for the zone and the root): the upstream's answers are
 *   unsigned, so validation fails (BOGUS) and the client gets SERVFAIL at once, every time, for
 *   every record type. (A forward to a closed port gives a timeout, not SERVFAIL; an upstream
 *   with no data gives REFUSED.)
 * - Timeouts: {@link Dnsmasq.pause} stops the process (SIGSTOP), so queries go unanswered.
 * - Cleanup: {@link Dnsmasq.stop} kills the processes by their own pids and waits for them; an
 *   `exit` hook SIGKILLs whatever a test left running.
 *
 * If `dnsmasq` is not installed, {@link Dnsmasq.start} throws, naming the command that installs it
 * ({@link DNSMASQ_INSTALL_COMMAND}); a test never skips.
 */

/** The Debian package with the `dnsmasq` binary and without the system service. */
export const DNSMASQ_APT_PACKAGE = 'dnsmasq-base';
/** The command that installs it (as root). */
export const DNSMASQ_INSTALL_COMMAND = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${DNSMASQ_APT_PACKAGE}`;

/** One SRV record (RFC 2782). */
export interface SrvRecord {
  readonly target: string;
  readonly port: number;
  /** Lower is preferred; 0 when unset. */
  readonly priority?: number;
  /** Share among records of one priority; 0 when unset. */
  readonly weight?: number;
}

/** What the server answers. Names are written without a trailing dot. */
export interface DnsRecords {
  /** Name -> IPv4 addresses. */
  readonly a?: Readonly<Record<string, readonly string[]>>;
  /** Name -> IPv6 addresses. */
  readonly aaaa?: Readonly<Record<string, readonly string[]>>;
  /** Name (e.g. `_dist._tcp.my-svc.my-ns`) -> records. */
  readonly srv?: Readonly<Record<string, readonly SrvRecord[]>>;
  /**
   * Address -> name. When given, these are the only PTR records; when absent, each address gets a
   * PTR record to the first name holding it.
   */
  readonly ptr?: Readonly<Record<string, string>>;
  /** Name -> strings (no commas or quotes). */
  readonly txt?: Readonly<Record<string, readonly string[]>>;
  /** Zones (and all names under them) answered with SERVFAIL; they may hold no records. */
  readonly servfail?: readonly string[];
}

/** Options of {@link Dnsmasq.start}. */
export interface DnsmasqOptions {
  /** Loopback addresses to listen on; `['127.0.0.1']` by default (add `'::1'` for IPv6). */
  readonly listen?: readonly string[];
  /** `--log-queries` (default true); the log is in {@link Dnsmasq.log}. */
  readonly logQueries?: boolean;
  /** How long to wait for the server to answer after a (re)start; 10 s by default. */
  readonly readyTimeoutMs?: number;
}

/** A query as dnsmasq logged it. */
export interface LoggedQuery {
  readonly type: string;
  readonly name: string;
}

/** What a bare UDP query got back (see {@link Dnsmasq.udpQuery}). */
export interface UdpAnswer {
  readonly rcode: number;
  /** The TC bit: the answer did not fit and the client must ask again over TCP. */
  readonly truncated: boolean;
  readonly answers: number;
}

// The root key's DS, as in /usr/share/dnsmasq-base/trust-anchors.conf; any DS will do for the
// SERVFAIL zones, since the upstream serves no DNSKEY at all.
const ROOT_DS = '20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D';
const GENERATION_NAME = '_generation.dnsmasq-harness.invalid';
const NAME = /^(?=.{1,253}$)[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_LOG_LINES = 20_000;
/** dnsmasq exits at once on SIGTERM; SIGKILL follows after this long. */
const STOP_GRACE_MS = 2_000;

const live = new Set<Dnsmasq>();

/** The `dnsmasq` binary, or a loud error naming the install command. */
export function dnsmasqBinary(): string {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/sbin',
    '/usr/local/sbin',
  ];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, 'dnsmasq'))) return join(dir, 'dnsmasq');
  }
  throw new Error(
    `The DNS tests need dnsmasq, which is not installed. Install Debian's "${DNSMASQ_APT_PACKAGE}" package as root:\n  ${DNSMASQ_INSTALL_COMMAND}`,
  );
}

/** A dnsmasq serving a test's records on a loopback port. */
export class Dnsmasq {
  /** Everything dnsmasq wrote (the upstream's lines prefixed with `upstream: `). */
  readonly log: string[] = [];
  private main: ManagedProcess | undefined;
  private upstream: { process: ManagedProcess; port: number } | undefined;
  private dir: string | undefined;
  private generation = 0;
  private readonly id = Math.random().toString(36).slice(2, 10);

  private constructor(
    private current: DnsRecords,
    readonly listen: readonly string[],
    private readonly logQueries: boolean,
    private readonly readyTimeoutMs: number,
    private portNumber: number,
  ) {}

  /**
   * Starts dnsmasq on a free high port with these records and waits until it answers.
   * @throws when dnsmasq is not installed (naming the install command) or does not start.
   */
  static async start(records: DnsRecords = {}, options: DnsmasqOptions = {}): Promise<Dnsmasq> {
    dnsmasqBinary();
    const listen = options.listen ?? ['127.0.0.1'];
    for (const address of listen) {
      if (isIP(address) === 0) throw new Error(`Dnsmasq: cannot listen on "${address}"`);
    }
    checkRecords(records);
    const server = new Dnsmasq(
      records,
      listen,
      options.logQueries ?? true,
      options.readyTimeoutMs ?? 10_000,
      0,
    );
    live.add(server);
    try {
      await server.launch(true);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** The port the server listens on (UDP and TCP), the same across restarts. */
  get port(): number {
    return this.portNumber;
  }

  /** The pid of the server process, while it runs. */
  get pid(): number | undefined {
    return this.main?.exitCode === undefined ? this.main?.pid : undefined;
  }

  /** Whether the server process runs. */
  get running(): boolean {
    return this.main !== undefined && this.main.exitCode === undefined;
  }

  /** The records served now. */
  get records(): DnsRecords {
    return this.current;
  }

  /** The server as the `servers` option of the dns discovery takes it. */
  get servers(): { host: string; port: number }[] {
    return this.listen.map(host => ({ host, port: this.port }));
  }

  /** The server as `GEN_CLUSTER_DNS_SERVERS` takes it: `127.0.0.1:5353,[::1]:5353`. */
  get envValue(): string {
    return this.listen
      .map(host => (isIP(host) === 6 ? `[${host}]:${this.port}` : `${host}:${this.port}`))
      .join(',');
  }

  /**
   * Serves new records: rewrites the configuration and restarts dnsmasq on the same port, then
   * waits until the new records answer. Starts the server if it was stopped.
   */
  async setRecords(records: DnsRecords): Promise<void> {
    checkRecords(records);
    this.current = records;
    await this.main?.stop(STOP_GRACE_MS);
    await this.launch(false);
  }

  /** Starts the server again on the same port with the current records (after {@link stop}). */
  async restart(): Promise<void> {
    await this.main?.stop(STOP_GRACE_MS);
    await this.launch(false);
  }

  /** Stops answering without closing the port: SIGSTOP, so queries time out. */
  pause(): void {
    this.main?.signal('SIGSTOP');
  }

  /** Undoes {@link pause}. */
  resume(): void {
    this.main?.signal('SIGCONT');
  }

  /**
   * Stops the server (and its SERVFAIL upstream) by their pids, waits for them to exit and removes
   * the temp files. The port is kept, so {@link restart} brings the same server back.
   */
  async stop(): Promise<void> {
    await Promise.all([this.main?.stop(STOP_GRACE_MS), this.upstream?.process.stop(STOP_GRACE_MS)]);
    this.upstream = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    live.delete(this);
  }

  /** The queries dnsmasq logged (with `logQueries`), oldest first. */
  queries(): LoggedQuery[] {
    const queries: LoggedQuery[] = [];
    for (const line of this.log) {
      if (line.startsWith('upstream: ')) continue;
      const match = /query\[(\w+)\] (\S+) from /.exec(line);
      if (match) queries.push({ type: match[1]!, name: match[2]! });
    }
    return queries;
  }

  /**
   * Sends one bare UDP query, as a stub resolver does (EDNS0 with a 1232-byte buffer), and reports
   * the header of the answer: used to prove an answer is truncated over UDP.
   */
  udpQuery(name: string, type: 'A' | 'AAAA' | 'SRV' | 'PTR' | 'TXT'): Promise<UdpAnswer> {
    const codes = { A: 1, AAAA: 28, SRV: 33, PTR: 12, TXT: 16 } as const;
    const host = this.listen[0]!;
    const id = Math.floor(Math.random() * 0xffff);
    const labels = name.split('.').filter(Boolean);
    const question = Buffer.concat([
      ...labels.map(l => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])),
      Buffer.from([0]),
      Buffer.from([0, codes[type], 0, 1]),
    ]);
    const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    const packet = Buffer.concat([header, question, opt]);
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    return new Promise<UdpAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`No UDP answer from ${host}:${this.port} for ${type} ${name}`));
      }, 3_000);
      socket.on('error', error => {
        clearTimeout(timer);
        socket.close();
        reject(error);
      });
      socket.on('message', message => {
        if (message.length < 12 || message.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        socket.close();
        const flags = message.readUInt16BE(2);
        resolve({
          rcode: flags & 0x0f,
          truncated: (flags & 0x0200) !== 0,
          answers: message.readUInt16BE(6),
        });
      });
      socket.send(packet, this.port, host);
    });
  }

  /** SIGKILLs the processes and removes the temp files at once (for the process `exit` hook). */
  killNow(): void {
    this.main?.signal('SIGKILL');
    this.upstream?.process.signal('SIGKILL');
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  // --- internals -----------------------------------------------------------------------------

  private async launch(pickPort: boolean): Promise<void> {
    const binary = dnsmasqBinary();
    this.dir ??= mkdtempSync(join(tmpdir(), 'gen-cluster-dnsmasq-'));
    live.add(this);
    if (this.current.servfail?.length && !this.upstream) this.upstream = await this.startUpstream();
    for (let attempt = 0; ; attempt++) {
      if (pickPort) this.portNumber = randomPort();
      this.generation++;
      const conf = join(this.dir, `dnsmasq-${this.generation}.conf`);
      writeFileSync(conf, this.configuration(), { mode: 0o644 });
      const args = [
        ...baseArgs(this.listen, this.portNumber, conf),
        ...(this.logQueries ? ['--log-queries'] : []),
      ];
      const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const started = new ManagedProcess(child, { output: this.log, maxLines: MAX_LOG_LINES });
      this.main = started;
      const ready = await waitReady(
        started,
        this.listen,
        this.portNumber,
        `${this.id}:${this.generation}`,
        this.readyTimeoutMs,
      );
      if (ready === 'ready') return;
      const inUse = this.log.some(line => /in use/i.test(line));
      if (ready === 'exited' && inUse && pickPort && attempt < 20) continue;
      await started.stop(STOP_GRACE_MS);
      throw new Error(
        `dnsmasq did not start on port ${this.portNumber} (${ready === 'exited' ? `exited with ${started.exitCode}` : `no answer within ${this.readyTimeoutMs} ms`}):\n${this.log.slice(-30).join('\n')}`,
      );
    }
  }

  /** The record-less upstream that makes the SERVFAIL zones fail DNSSEC validation. */
  private async startUpstream(): Promise<{ process: ManagedProcess; port: number }> {
    const binary = dnsmasqBinary();
    const conf = join(this.dir!, 'upstream.conf');
    const probe = `${this.id}:upstream`;
    writeFileSync(conf, `local=/#/\ntxt-record=${GENERATION_NAME},${probe}\n`, { mode: 0o644 });
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = randomPort();
      const child = spawn(binary, baseArgs(['127.0.0.1'], port, conf), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const started = new ManagedProcess(child, {
        output: this.log,
        tag: 'upstream: ',
        maxLines: MAX_LOG_LINES,
      });
      const ready = await waitReady(started, ['127.0.0.1'], port, probe, this.readyTimeoutMs);
      if (ready === 'ready') return { process: started, port };
      await started.stop(STOP_GRACE_MS);
    }
    throw new Error(
      `The SERVFAIL upstream dnsmasq did not start:\n${this.log.slice(-30).join('\n')}`,
    );
  }

  private configuration(): string {
    const r = this.current;
    const lines = [
      `# test/support/dnsmasq.ts, server ${this.id}, generation ${this.generation}`,
      '# Every name is answered from this file alone: unknown names are NXDOMAIN.',
      'local=/#/',
      `txt-record=${GENERATION_NAME},${this.id}:${this.generation}`,
    ];
    const explicitPtr = r.ptr !== undefined;
    for (const [family, table] of [
      [4, r.a],
      [6, r.aaaa],
    ] as const) {
      for (const [name, addresses] of Object.entries(table ?? {})) {
        for (const address of addresses) {
          if (isIP(address) !== family)
            throw new Error(`Dnsmasq: "${address}" is not an IPv${family} address (${name})`);
          lines.push(
            explicitPtr ? `address=/${name}/${address}` : `host-record=${name},${address}`,
          );
        }
      }
    }
    for (const [address, name] of Object.entries(r.ptr ?? {}))
      lines.push(`ptr-record=${reverseName(address)},${name}`);
    for (const [name, records] of Object.entries(r.srv ?? {})) {
      for (const s of records)
        lines.push(`srv-host=${name},${s.target},${s.port},${s.priority ?? 0},${s.weight ?? 0}`);
    }
    for (const [name, texts] of Object.entries(r.txt ?? {}))
      lines.push(`txt-record=${name},${texts.map(t => `"${t}"`).join(',')}`);
    if (r.servfail?.length) {
      lines.push('# SERVFAIL zones: forwarded to a record-less upstream, and DNSSEC-validated.');
      lines.push('dnssec', `trust-anchor=.,${ROOT_DS}`);
      for (const zone of r.servfail) {
        lines.push(`trust-anchor=${zone},${ROOT_DS}`);
        lines.push(`server=/${zone}/127.0.0.1#${this.upstream!.port}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

function baseArgs(listen: readonly string[], port: number, conf: string): string[] {
  return [
    '--no-daemon',
    '--log-facility=-',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--bind-interfaces',
    ...listen.map(address => `--listen-address=${address}`),
    `--port=${port}`,
    `--conf-file=${conf}`,
  ];
}

function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 40_000);
}

/** Waits until every listen address answers the probe TXT record with `expected`. */
async function waitReady(
  started: ManagedProcess,
  listen: readonly string[],
  port: number,
  expected: string,
  timeoutMs: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = performance.now() + timeoutMs;
  const pending = new Set(listen);
  while (performance.now() < deadline) {
    if (started.exitCode !== undefined) return 'exited';
    for (const host of [...pending]) {
      const resolver = new Resolver({ timeout: 250, tries: 1 });
      resolver.setServers([isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`]);
      try {
        const txt = await resolver.resolveTxt(GENERATION_NAME);
        if (txt.some(chunks => chunks.join('') === expected)) pending.delete(host);
      } catch {
        // not listening yet
      }
    }
    if (pending.size === 0) return 'ready';
    await Promise.race([started.exited, new Promise(resolve => setTimeout(resolve, 20))]);
  }
  return started.exitCode !== undefined ? 'exited' : 'timeout';
}

function checkRecords(records: DnsRecords): void {
  const name = (value: string, what: string) => {
    if (!NAME.test(value)) throw new Error(`Dnsmasq: ${what} "${value}" is not a DNS name`);
  };
  const servfail = records.servfail ?? [];
  servfail.forEach(zone => name(zone, 'SERVFAIL zone'));
  const names = [
    ...Object.keys(records.a ?? {}),
    ...Object.keys(records.aaaa ?? {}),
    ...Object.keys(records.srv ?? {}),
    ...Object.keys(records.txt ?? {}),
  ];
  for (const n of names) {
    name(n, 'record name');
    const zone = servfail.find(z => n === z || n.endsWith(`.${z}`));
    if (zone)
      throw new Error(`Dnsmasq: "${n}" is in SERVFAIL zone "${zone}", which holds no records`);
  }
  for (const records_ of Object.values(records.srv ?? {})) {
    for (const s of records_) {
      name(s.target, 'SRV target');
      for (const n of [s.port, s.priority ?? 0, s.weight ?? 0]) {
        if (!Number.isInteger(n) || n < 0 || n > 65535)
          throw new Error(`Dnsmasq: SRV field ${n} is not an integer from 0 to 65535`);
      }
    }
  }
  for (const [address, target] of Object.entries(records.ptr ?? {})) {
    if (isIP(address) === 0) throw new Error(`Dnsmasq: PTR key "${address}" is not an address`);
    name(target, 'PTR target');
  }
  for (const texts of Object.values(records.txt ?? {})) {
    for (const t of texts) {
      if (/[",\n]/.test(t)) throw new Error(`Dnsmasq: TXT "${t}" may not hold quotes or commas`);
    }
  }
}

/** `4.3.2.1.in-addr.arpa`, or 32 nibbles under `ip6.arpa`. */
function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = new Array<string>(8 - left.length - right.length).fill('0');
  const hex = [...left, ...zeros, ...right].map(g => g.padStart(4, '0')).join('');
  return `${[...hex].reverse().join('.')}.ip6.arpa`;
}

process.once('exit', () => {
  for (const server of live) server.killNow();
});
