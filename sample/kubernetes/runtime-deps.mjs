#!/usr/bin/env node
// Rewrites ./package.json (run it in the Docker build's dependency stage, never in the repository)
// into the manifest of the sample app's run time: the library's `dependencies`, plus what the
// sample needs beyond them, at the versions package-lock.json pins: the library's peer
// dependencies (Nest, RxJS, reflect-metadata, and the optional ones the sample uses:
// @nestjs/terminus for its probes, prom-client for GET /metrics, @opentelemetry/api, and the NATS
// client @nats-io/transport-node, so that one image runs on the TCP mesh and, with overlays/nats,
// on the NATS dist), Nest's Express adapter and @nestjs/schedule (the sample's job that runs on
// the leader). Those are devDependencies of the library (a library does not install its own
// peers), so `npm ci --omit=dev` alone would leave them out. After it, `npm install --omit=dev`
// installs exactly these, keeping every locked version, and no development package.
import { readFileSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const runtime = [
  ...Object.keys(pkg.peerDependencies ?? {}),
  '@nestjs/platform-express',
  '@nestjs/schedule',
];
const dependencies = { ...pkg.dependencies };
for (const name of runtime) {
  const version = lock.packages?.[`node_modules/${name}`]?.version;
  if (!version) {
    console.error(`runtime-deps: ${name} is not in package-lock.json`);
    process.exit(1);
  }
  dependencies[name] = version;
}
const manifest = { ...pkg, dependencies };
delete manifest.devDependencies;
delete manifest.peerDependencies;
delete manifest.scripts;
writeFileSync('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
console.log(
  Object.entries(dependencies)
    .map(([n, v]) => `${n}@${v}`)
    .join('\n'),
);
