/** loadTracing, as GenClusterModule's `tracing` option loads it: 'auto' and true. */
import { OptionalPackageMissingError } from '../core/index.js';
import { type TracingModule, loadTracing } from './tracing.js';

/** What Node's import() throws when a package is not installed. */
function notFound(pkg: string): () => Promise<TracingModule> {
  return () =>
    Promise.reject(
      Object.assign(new Error(`Cannot find package '${pkg}' imported from /app/dist/otel.js`), {
        code: 'ERR_MODULE_NOT_FOUND',
      }),
    );
}

describe('loadTracing', () => {
  it.each(['auto', true] as const)(
    'gives the tracing hooks when the package loads (%s)',
    async mode => {
      const hooks = await loadTracing(mode);
      expect(typeof hooks?.outgoing).toBe('function');
      expect(typeof hooks?.incoming).toBe('function');
    },
  );

  it("gives nothing for 'auto' when @opentelemetry/api is not installed", async () => {
    await expect(loadTracing('auto', notFound('@opentelemetry/api'))).resolves.toBeUndefined();
  });

  it('refuses tracing: true without @opentelemetry/api, naming the package', async () => {
    const error = await loadTracing(true, notFound('@opentelemetry/api')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionalPackageMissingError);
    expect(error).toMatchObject({
      code: 'ERR_OPTIONAL_PACKAGE_MISSING',
      packageName: '@opentelemetry/api',
    });
    expect((error as Error).message).toContain('npm install @opentelemetry/api');
  });

  it("does not hide a broken install behind 'auto'", async () => {
    await expect(loadTracing('auto', notFound('some-other-package'))).rejects.toThrow(
      OptionalPackageMissingError,
    );
    await expect(
      loadTracing('auto', () => Promise.reject(new SyntaxError('bad module'))),
    ).rejects.toThrow(OptionalPackageMissingError);
  });
});
