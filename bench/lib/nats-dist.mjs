import { distUrl } from './common.mjs';

/** The NATS dist of the measured build: its own entry point (dist/src/nats), else the main one. */
export async function natsDistClass() {
  for (const file of [['nats', 'index.js'], ['index.js']]) {
    try {
      const mod = await import(distUrl(...file));
      if (mod.NatsDist) return mod.NatsDist;
    } catch {
      // not in this build
    }
  }
  throw new Error('NatsDist is not in the build (dist/src/nats/index.js): run "npm run build"');
}
