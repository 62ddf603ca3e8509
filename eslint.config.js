import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/ and the layers each may import. A layer imports another only through that
 * layer's `index.ts` (never a deep path), and only in the direction of this table; only `nest`,
 * `testing` and `microservices` may import Nest, and only `microservices` may import
 * `@nestjs/microservices` (an optional peer). Specs are white-box tests and may reach inside.
 */
const LAYERS = {
  core: [],
  portmapper: ['core'],
  discovery: ['core', 'portmapper'],
  distribution: ['core', 'portmapper'],
  config: ['core', 'discovery', 'distribution', 'nats'],
  primitives: ['core', 'distribution'],
  // metrics and otel only through a dynamic import() (optional peers load when asked) or types
  nest: ['core', 'config', 'discovery', 'distribution', 'primitives', 'metrics', 'otel'],
  testing: ['core', 'config', 'distribution', 'primitives', 'nest'],
  microservices: ['core', 'distribution', 'primitives', 'nest'],
  metrics: ['core', 'distribution'],
  otel: ['core'],
  // a dist over NATS; its client (an optional peer) only through loadOptional's import() or types
  nats: ['core', 'distribution', 'discovery'],
  terminus: ['core', 'nest'],
  cli: ['core', 'config', 'discovery', 'distribution', 'portmapper', 'primitives'],
};
const NEST_LAYERS = ['nest', 'testing', 'microservices', 'terminus'];
/** Optional peers: only the entry named here may import each (its users install it). */
const OPTIONAL_PEERS = {
  microservices: ['@nestjs/microservices', '@nestjs/microservices/*'],
  terminus: ['@nestjs/terminus', '@nestjs/terminus/*'],
  metrics: ['prom-client'],
  otel: ['@opentelemetry/*'],
  nats: ['@nats-io/*'],
};

function layerRules() {
  return Object.entries(LAYERS).map(([layer, allowed]) => ({
    files: [`src/${layer}/**/*.ts`],
    ignores: ['src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...(NEST_LAYERS.includes(layer)
              ? []
              : [{ group: ['@nestjs/*'], message: `The ${layer} layer knows nothing of Nest.` }]),
            ...Object.entries(OPTIONAL_PEERS)
              .filter(([owner]) => owner !== layer)
              .map(([owner, group]) => ({
                group,
                message: `An optional peer: only src/${owner} may import ${group[0]}.`,
              })),
            ...Object.keys(LAYERS)
              .filter(other => other !== layer)
              .map(other =>
                allowed.includes(other)
                  ? {
                      group: [`**/${other}/*`, `**/${other}/**/*`, `!**/${other}/index.js`],
                      message: `Import the ${other} layer through its index.ts, not a deep path.`,
                    }
                  : {
                      group: [`**/${other}/*`, `**/${other}/**/*`],
                      message: `The ${layer} layer must not depend on the ${other} layer.`,
                    },
              ),
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      // Nest reads constructor parameter types at run time (decorator metadata): such imports
      // must stay value imports, and the type-imports rule needs to know it.
      parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  ...layerRules(),
);
