import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isPackageNotFound, MissingDependencyError, whenMissing } from '../lib/common/optional-dependency.js';

/** Not installed anywhere: a real module-resolution failure, as a user without the optional package gets it. */
const ABSENT = '@aws-sdk/client-not-installed-anywhere';

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('optional dependencies', () => {
  it('turns a missing package into one typed error naming it and how to install it', async () => {
    // Act
    const error = await rejectionOf(
      import(/* @vite-ignore */ ABSENT).catch(whenMissing(ABSENT, 'publishing to CloudWatch')),
    );

    // Assess
    expect(error).toBeInstanceOf(MissingDependencyError);
    const e = error as MissingDependencyError;
    expect(e.packageName).toBe(ABSENT);
    expect(e.neededFor).toBe('publishing to CloudWatch');
    expect(e.message).toMatch(
      /^publishing to CloudWatch needs @aws-sdk\/client-not-installed-anywhere, an optional dependency/,
    );
    expect(e.message).toContain(`npm install ${ABSENT}`);
    expect(e.message).not.toContain('\n');
  });

  it('recognises require()’s MODULE_NOT_FOUND as well as import()’s ERR_MODULE_NOT_FOUND', () => {
    // Prepare
    let required: unknown;
    try {
      createRequire(import.meta.url)(ABSENT);
    } catch (error) {
      required = error;
    }

    // Act + Assess
    expect((required as { code?: string }).code).toBe('MODULE_NOT_FOUND');
    expect(isPackageNotFound(required, ABSENT)).toBe(true);
  });

  it('rethrows anything else unchanged: a missing package of its own, or a failure inside the package', async () => {
    // Prepare: the package is there but one of its dependencies is not; and a package whose code throws.
    const nested = Object.assign(
      new Error(`Cannot find package '@smithy/core' imported from /x/node_modules/${ABSENT}/index.js`),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    const broken = new TypeError('boom');

    // Act
    const errors = await Promise.all([
      rejectionOf(Promise.reject(nested).catch(whenMissing(ABSENT, 'x'))),
      rejectionOf(Promise.reject(broken).catch(whenMissing(ABSENT, 'x'))),
    ]);

    // Assess
    expect(errors).toEqual([nested, broken]);
    expect(errors[0]).toBe(nested);
    expect(errors[1]).toBe(broken);
  });

  it('resolves to the module when the package is installed', async () => {
    // Act
    const sdk = await import('@aws-sdk/client-cloudwatch').catch(whenMissing('@aws-sdk/client-cloudwatch', 'x'));

    // Assess
    expect(typeof sdk.CloudWatchClient).toBe('function');
  });
});
