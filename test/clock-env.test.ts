/**
 * clockEnv(): what a child spawned with a clean environment needs to keep the test's clock under libfaketime
 * (scripts/test.sh runs the suite a second time a year ahead). Without it the CLI, the servers and the Lambda
 * zips of the tests would run on the real clock while the tests date their data on the shifted one.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clockEnv } from './support/clock.js';

/** What the `faketime` wrapper (Debian package faketime) puts in LD_PRELOAD; ld.so expands $LIB. */
const LIBFAKETIME = '/usr/$LIB/faketime/libfaketime.so.1';
const DAY_MS = 86_400_000;

/** Date.now() of a fresh `node` with exactly `env` (plus PATH). */
function childNow(env: Record<string, string>): number {
  const child = spawnSync(process.execPath, ['-p', 'Date.now()'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (child.status !== 0) throw new Error(`node -p Date.now() exited ${child.status}: ${child.stderr}`);
  return Number(child.stdout.trim());
}

describe('clockEnv', () => {
  it('takes LD_PRELOAD and libfaketime settings when libfaketime is preloaded, and nothing else', () => {
    // Prepare
    const env = {
      PATH: '/usr/bin',
      HOME: '/home/ci',
      AWS_SECRET_ACCESS_KEY: 'not-for-children',
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME: '+400d',
      FAKETIME_SHARED: '/faketime_sem_1 /faketime_shm_1',
      FAKETIME_DONT_RESET: '1',
      DONT_FAKE_MONOTONIC: '1',
      NO_FAKE_STAT: '1',
      MY_FAKETIME: 'not libfaketime',
    };

    // Act
    const picked = clockEnv(env);

    // Assess
    expect(picked).toEqual({
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME: '+400d',
      FAKETIME_SHARED: '/faketime_sem_1 /faketime_shm_1',
      FAKETIME_DONT_RESET: '1',
      DONT_FAKE_MONOTONIC: '1',
      NO_FAKE_STAT: '1',
    });
  });

  it('is empty on the real clock, or when LD_PRELOAD loads something else', () => {
    // Act
    const none = clockEnv({ PATH: '/usr/bin', FAKETIME: '+400d' });
    const other = clockEnv({ LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', FAKETIME: '+400d' });

    // Assess
    expect(none).toEqual({});
    expect(other).toEqual({});
  });

  it('is enough to move a child with a clean environment to the shifted clock', () => {
    // Prepare
    const shiftedParent = { PATH: '/usr/bin', HOME: '/home/ci', LD_PRELOAD: LIBFAKETIME, FAKETIME: '+400d' };

    // Act
    const plain = childNow({});
    const shifted = childNow(clockEnv(shiftedParent));

    // Assess: 400 days apart (give or take the seconds between the two spawns)
    expect(
      Math.abs(shifted - plain - 400 * DAY_MS),
      'is libfaketime installed? (Debian package faketime; scripts/test.sh installs it)',
    ).toBeLessThan(60_000);
  });

  it("keeps this suite's own clock in a child with a clean environment (shifted or not)", () => {
    // Act
    const before = Date.now();
    const child = childNow(clockEnv());
    const after = Date.now();

    // Assess: under scripts/test.sh's shifted run, without clockEnv the child would be a year behind
    expect(child).toBeGreaterThanOrEqual(before - 1_000);
    expect(child).toBeLessThanOrEqual(after + 1_000);
  });
});
