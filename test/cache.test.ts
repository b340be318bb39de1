import { describe, expect, it } from 'vitest';
import { SingleFlightCache } from '../lib/outputs/http/cache.js';

describe('SingleFlightCache', () => {
  it('shares one load between concurrent callers', async () => {
    // Prepare
    let loads = 0;
    let release: (v: number) => void = () => undefined;
    const cache = new SingleFlightCache(
      () => {
        loads++;
        return new Promise<number>((resolve) => (release = resolve));
      },
      { ttlMs: 1000, now: () => 0 },
    );

    // Act
    const pending = Array.from({ length: 50 }, () => cache.get());
    release(7);
    const values = await Promise.all(pending);

    // Assess
    expect(loads).toBe(1);
    expect(new Set(values)).toEqual(new Set([7]));
  });

  it('reuses a value within the TTL and loads again after it', async () => {
    // Prepare
    let now = 0;
    let loads = 0;
    const cache = new SingleFlightCache(async () => ++loads, { ttlMs: 1000, now: () => now });

    // Act
    const first = await cache.get();
    now = 999;
    const second = await cache.get();
    now = 1000;
    const third = await cache.get();

    // Assess
    expect([first, second, third]).toEqual([1, 1, 2]);
  });

  it('does not keep a rejected load', async () => {
    // Prepare
    let loads = 0;
    const cache = new SingleFlightCache(
      async () => {
        loads++;
        if (loads === 1) throw new Error('boom');
        return loads;
      },
      { ttlMs: 1000, now: () => 0 },
    );

    // Act
    await expect(cache.get()).rejects.toThrow('boom');
    const value = await cache.get();

    // Assess
    expect(value).toBe(2);
  });
});
