import { GenClusterError, type ErrorDetails, toError } from './errors.js';
import { CoreMessages } from './messages.js';

/** An optional peer dependency a feature needs is not installed (or failed to load). */
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
 * {@link OptionalPackageMissingError} naming the package and how to install it.
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
  } catch (error) {
    throw new OptionalPackageMissingError(
      CoreMessages.optionalPackageMissing(packageName, purpose),
      {
        packageName,
        cause: toError(error),
      },
    );
  }
}
