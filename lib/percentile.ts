/**
 * Exact quantiles by linear interpolation between closest ranks: numpy's default
 * (`method="linear"`, Hyndman & Fan type 7). For sorted x of length n and quantile q,
 * h = (n − 1)·q, result = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋ + 1] − x[⌊h⌋]).
 */
export function quantilesOfSorted(sorted: ArrayLike<number>, quantiles: readonly number[]): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  return quantiles.map((q) => {
    const h = (n - 1) * q;
    const lo = Math.floor(h);
    const low = sorted[lo] as number;
    if (lo >= n - 1) return sorted[n - 1] as number;
    const high = sorted[lo + 1] as number;
    return low + (h - lo) * (high - low);
  });
}

/** Sorts a copy-free typed view in place (numeric order) and returns the quantiles. */
export function quantiles(values: Float64Array, qs: readonly number[]): number[] {
  values.sort();
  return quantilesOfSorted(values, qs);
}
