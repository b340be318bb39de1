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

/**
 * The same quantiles as `quantiles` (numpy linear), found by selection instead of a full sort: only the
 * order statistics the interpolation reads (⌊h⌋ and ⌊h⌋ + 1 for each q) are placed, by quickselect, in
 * O(n) expected time. Reorders `values` in place (partially sorted, not sorted). Values must not be NaN.
 */
export function selectQuantiles(values: Float64Array, qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return [];
  if (n <= SORT_BELOW) {
    values.sort();
    return quantilesOfSorted(values, qs);
  }
  const ranks: number[] = [];
  for (const q of qs) {
    const lo = Math.floor((n - 1) * q);
    if (lo >= n - 1) ranks.push(n - 1);
    else ranks.push(lo, lo + 1);
  }
  const wanted = [...new Set(ranks)].sort((a, b) => a - b);
  // Each selection leaves everything before rank k ≤ values[k] ≤ everything after: the next, larger rank
  // is looked for after k only (k itself stays in place).
  let from = 0;
  for (const k of wanted) {
    select(values, from, n - 1, k);
    from = k + 1;
  }
  return qs.map((q) => {
    const h = (n - 1) * q;
    const lo = Math.floor(h);
    const low = values[lo] as number;
    if (lo >= n - 1) return values[n - 1] as number;
    const high = values[lo + 1] as number;
    return low + (h - lo) * (high - low);
  });
}

/** Below this, a sort is as fast as selection. */
const SORT_BELOW = 64;

/**
 * Places the k-th smallest of values[left..right] at k, smaller-or-equal before it, greater-or-equal after
 * (Hoare partition around a median of three; falls back to sorting the range if partitions keep being bad).
 */
function select(values: Float64Array, left: number, right: number, k: number): void {
  let budget = 2 * (32 - Math.clz32(right - left + 1));
  while (right > left) {
    if (right - left < SORT_BELOW || budget-- === 0) {
      values.subarray(left, right + 1).sort();
      return;
    }
    const mid = (left + right) >>> 1;
    const a = values[left] as number;
    const b = values[mid] as number;
    const c = values[right] as number;
    // biome-ignore lint/complexity/useMathMinMax: the median of three by comparisons alone, in the selection loop
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = left;
    let j = right;
    while (i <= j) {
      while ((values[i] as number) < pivot) i++;
      while ((values[j] as number) > pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    // Now [left..j] ≤ pivot ≤ [i..right], and j < i; anything between equals the pivot.
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}
