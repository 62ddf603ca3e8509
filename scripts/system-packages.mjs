// The system programs the test suite uses, and the Debian packages that provide them. When one is
// missing, it is installed with apt-get if we are root; otherwise the one command to run is
// printed and the run fails (a test whose real part is missing must fail, not skip).
import { spawnSync } from 'node:child_process';

/** command -> Debian package */
export const SYSTEM_PACKAGES = {
  dnsmasq: 'dnsmasq-base', // the DNS server of the DNS discovery tests
  openssl: 'openssl', // test certificates for TLS and the Kubernetes API test server
  epmd: 'erlang-base', // interoperability of the port mapper with Erlang's epmd
  erl: 'erlang-base',
  kubectl: 'kubernetes-client', // `kubectl kustomize` renders the sample manifests
  ip: 'iproute2', // network namespaces of the zero-configuration test
  ss: 'iproute2', // which addresses a node listens on
  iptables: 'iptables', // packet loss and partitions inside test network namespaces
  faketime: 'faketime', // wall-clock jumps under a running node
  chromium: 'chromium', // the live cluster page, tested in a real headless browser
  promtool: 'prometheus', // `promtool check metrics` lints the scraped /metrics text
  etcd: 'etcd-server', // the etcd discovery tests run a real etcd on loopback
  etcdctl: 'etcd-client', // and check its keys with etcdctl
  'nats-server': 'nats-server', // the NATS dist and discovery tests run real NATS servers on loopback
};

// sbin directories are not on every user's PATH, and dnsmasq lives there.
const SEARCH_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/local/sbin`;
const has = command =>
  spawnSync('sh', ['-c', `command -v ${command}`], {
    stdio: 'ignore',
    env: { ...process.env, PATH: SEARCH_PATH },
  }).status === 0;

export function ensureSystemPackages(packages = SYSTEM_PACKAGES) {
  const missing = [
    ...new Set(
      Object.entries(packages)
        .filter(([command]) => !has(command))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  const install = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(
      `The test suite needs: ${missing.join(', ')}. Install them with:\n  sudo sh -c '${install}'`,
    );
    process.exit(1);
  }
  console.log(`Installing ${missing.join(', ')} ...`);
  const result = spawnSync('sh', ['-c', install], { stdio: 'inherit' });
  const still = Object.entries(packages).filter(([command]) => !has(command));
  if (result.status !== 0 || still.length) {
    console.error(`Could not install ${missing.join(', ')}; run: ${install}`);
    process.exit(1);
  }
}
