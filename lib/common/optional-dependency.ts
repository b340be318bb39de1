/**
 * The AWS SDK clients are optional dependencies (package.json): `serve` without SSM parameters never loads them,
 * and `npm install --omit=optional` leaves their ~37 MB out. Where one is loaded, a missing package becomes one
 * typed error naming what to install, not a module-resolution stack trace.
 */

export class MissingDependencyError extends Error {
  override readonly name = 'MissingDependencyError';
  constructor(
    readonly packageName: string,
    /** What needed it, e.g. "collect --sink cloudwatch". */
    readonly neededFor: string,
  ) {
    super(
      `${neededFor} needs ${packageName}, an optional dependency that is not installed: ` +
        `npm install ${packageName} beside the exporter, or install the exporter without --omit=optional`,
    );
  }
}

/** True when `error` says that `packageName` itself cannot be found (not one of its own dependencies). */
export function isPackageNotFound(error: unknown, packageName: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (typeof e?.message !== 'string') return false;
  // ERR_MODULE_NOT_FOUND from an ES-module import, MODULE_NOT_FOUND from require(): both quote the specifier.
  return (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes(`'${packageName}'`);
}

/**
 * For a dynamic import's `.catch`: a missing `packageName` becomes a MissingDependencyError, anything else is
 * rethrown. (The import itself stays a literal at the call site, so the Lambda bundler still inlines it.)
 */
export function whenMissing(packageName: string, neededFor: string): (error: unknown) => never {
  return (error) => {
    if (isPackageNotFound(error, packageName)) throw new MissingDependencyError(packageName, neededFor);
    throw error;
  };
}
