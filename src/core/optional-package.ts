import { GenClusterError, type ErrorDetails, toError } from './errors.js';
import { CoreMessages } from './messages.js';

/**
 * An optional peer dependency a feature needs is not installed, or is installed but failed to
 * load (the message says which: only the first one tells to install it).
 */
export class OptionalPackageMissingError extends GenClusterError {
  /** The npm package to install, e.g. `prom-client`. */
  readonly packageName: string;

  constructor(message: string, details: ErrorDetails & { readonly packageName: string }) {
    super('ERR_OPTIONAL_PACKAGE_MISSING', message, details);
    this.packageName = details.packageName;
  }
}

/**
 * Loads an optional peer through `load` (a dynamic `import()` written at the call site, so that
 * bundlers and the layer rules see it), and turns a failure into an
 * {@link OptionalPackageMissingError} that keeps the failure as `cause`. When the failure is
 * "module not found" naming the package itself, the message says how to install it; any other
 * failure (a dependency of the package missing, an incompatible version, a module that throws
 * while loading) is reported with its own message, since installing would not help.
 * @param packageName the npm package, for the message
 * @param purpose what it is needed for, e.g. `"Prometheus metrics (metrics: true)"`
 */
export async function loadOptional<T>(
  packageName: string,
  purpose: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (thrown) {
    const cause = toError(thrown);
    const message = isPackageNotFound(cause, packageName)
      ? CoreMessages.optionalPackageMissing(packageName, purpose)
      : CoreMessages.optionalPackageFailed(packageName, purpose, cause.message);
    throw new OptionalPackageMissingError(message, { packageName, cause });
  }
}

/**
 * Whether `error` is a resolution failure for `packageName` itself (or a subpath of it): Node's
 * ESM loader says `Cannot find package 'x' imported from ...`, its CommonJS loader and Jest
 * `Cannot find module 'x' ...`. A missing file inside the package, or another package it
 * imports, names a different specifier and is a broken install, not a missing package.
 */
function isPackageNotFound(error: Error, packageName: string): boolean {
  const code = (error as { code?: unknown }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return [`'`, `"`].some(
    quote =>
      error.message.includes(`${quote}${packageName}${quote}`) ||
      error.message.includes(`${quote}${packageName}/`),
  );
}
