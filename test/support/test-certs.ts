import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as PEM text and as files. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Test PKI made with `openssl` in a temp dir; `cleanup()` removes the dir. */
export interface TestCerts {
  readonly dir: string;
  /** The test CA (PEM) and its file. */
  readonly ca: string;
  readonly caFile: string;
  /** A CA nobody trusts (PEM). */
  readonly otherCa: string;
  /** Signed by the test CA for `IP:127.0.0.1` (client and server use). */
  readonly node: TestCert;
  /** Signed by the test CA for `IP:127.0.0.2, DNS:other.test`: does not name 127.0.0.1. */
  readonly otherName: TestCert;
  /** Signed by the other CA, for `IP:127.0.0.1`. */
  readonly foreign: TestCert;
  /** Signed by the test CA for `IP:127.0.0.1`, valid only on 1-2 January 2020 (expired). */
  readonly expired: TestCert;
  cleanup(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 20_000 });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${stderr?.trim() || message}`);
  }
}

/** Throws a clear error when `openssl` is not usable here. */
export async function checkOpenssl(): Promise<string> {
  try {
    const { stdout } = await run('openssl', ['version'], { timeout: 10_000 });
    return stdout.trim();
  } catch (error) {
    throw new Error(
      `The TLS tests need the openssl command line tool: ${(error as Error).message}`,
    );
  }
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(
    [
      'req',
      '-x509',
      ...KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=gen-cluster ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

/** A validity window in the past, `YYYYMMDDHHMMSSZ` (as `openssl ca` takes it). */
interface PastValidity {
  readonly start: string;
  readonly end: string;
}

/**
 * Signs `name.csr` with `openssl ca`, which (unlike `openssl x509` in OpenSSL 3.0) can set a
 * validity window in the past; the database files it needs live in a per-certificate folder.
 */
async function signInPast(dir: string, name: string, ca: string, validity: PastValidity) {
  const db = `${name}.ca-db`;
  await mkdir(join(dir, db), { recursive: true });
  await writeFile(join(dir, db, 'index.txt'), '');
  await writeFile(join(dir, db, 'serial'), `${randomBytes(8).toString('hex')}\n`);
  await writeFile(
    join(dir, db, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `database = ${join(dir, db, 'index.txt')}`,
      `new_certs_dir = ${join(dir, db)}`,
      `serial = ${join(dir, db, 'serial')}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  await openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      join(db, 'ca.cnf'),
      '-cert',
      `${ca}.pem`,
      '-keyfile',
      `${ca}.key`,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      '-startdate',
      validity.start,
      '-enddate',
      validity.end,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

async function makeLeaf(
  dir: string,
  name: string,
  ca: string,
  san: string,
  past?: PastValidity,
): Promise<TestCert> {
  await openssl(
    [
      'req',
      '-new',
      ...KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ],
    dir,
  );
  await writeFile(
    join(dir, `${name}.ext`),
    [
      `subjectAltName=${san}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth,clientAuth',
      '',
    ].join('\n'),
  );
  if (past) await signInPast(dir, name, ca, past);
  else
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.pem`,
        '-CAkey',
        `${ca}.key`,
        '-set_serial',
        `0x${randomBytes(12).toString('hex')}`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return {
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    certFile,
    keyFile,
  };
}

/** Makes a test CA, node certificates and a certificate of another CA in a fresh temp dir. */
export async function makeTestCerts(): Promise<TestCerts> {
  await checkOpenssl();
  const dir = await mkdtemp(join(tmpdir(), 'gen-cluster-tls-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')]);
    const [node, otherName, foreign, expired] = await Promise.all([
      makeLeaf(dir, 'node', 'ca', 'IP:127.0.0.1'),
      makeLeaf(dir, 'other-name', 'ca', 'IP:127.0.0.2,DNS:other.test'),
      makeLeaf(dir, 'foreign', 'other-ca', 'IP:127.0.0.1'),
      makeLeaf(dir, 'expired', 'ca', 'IP:127.0.0.1', {
        start: '20200101000000Z',
        end: '20200102000000Z',
      }),
    ]);
    const caFile = join(dir, 'ca.pem');
    return {
      dir,
      ca: await readFile(caFile, 'utf8'),
      caFile,
      otherCa: await readFile(join(dir, 'other-ca.pem'), 'utf8'),
      node,
      otherName,
      foreign,
      expired,
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
