import { describe, expect, it } from 'vitest';
import { quantiles, quantilesOfSorted } from '../lib/aggregate/percentile.js';

const QS = [0.5, 0.9, 0.95, 0.99, 1];

describe('exact quantiles (numpy linear)', () => {
  it('matches numpy.quantile on a mixed sample (values computed with numpy 2.4)', () => {
    // Prepare
    const values = Float64Array.from([150, 150.456, 3723.456789, 93600, 0, 0.5, 34560000, 12, 7, 7, 99.9]);

    // Act
    const result = quantiles(values, QS);

    // Assess
    const numpy = [99.9, 93600.0, 17326800.0, 31113360.00000001, 34560000.0];
    result.forEach((v, i) => expect(v).toBeCloseTo(numpy[i] as number, 6));
  });

  it('interpolates between closest ranks', () => {
    // Prepare / Act
    const result = quantiles(Float64Array.from([3, 1, 2]), QS);

    // Assess: numpy.quantile([3,1,2], QS)
    [2.0, 2.8, 2.9, 2.98, 3.0].forEach((v, i) => expect(result[i]).toBeCloseTo(v, 12));
  });

  it('gives the value itself for a single value and nothing for none', () => {
    // Act / Assess
    expect(quantilesOfSorted([42], QS)).toEqual([42, 42, 42, 42, 42]);
    expect(quantilesOfSorted([], QS)).toEqual([]);
  });

  it('quantile 0 is the minimum and 1 the maximum for any sample', () => {
    // Prepare
    const values = Float64Array.from({ length: 1001 }, (_, i) => (i * 7919) % 1001);

    // Act
    const [min, max] = quantiles(values, [0, 1]);

    // Assess
    expect(min).toBe(0);
    expect(max).toBe(1000);
  });
});
