/**
 * The running totals of one group of jobs (a hot workflow, the folded rest, all jobs): counts by job type
 * and status, a runtime histogram, sum and count by terminal status, the window's runtimes, pending counts
 * and their oldest creation time. Everything but the window's runtimes sits in one Float64Array: a group
 * costs ~1 KB with the default 17 buckets (it took eleven typed arrays and three lists, ~5.7 KB, when every
 * workflow had one).
 */
import { FloatList } from './float-list.js';

/** Room for status labels: 5 known + MAX_UNKNOWN_STATUSES + OTHER_VALUE (aggregator.ts). */
export const STATUS_SLOTS = 32;

// The cells before the histogram, by terminal status (COMPLETED, FAILED, STOPPED) or pending status
// (SCHEDULED, IN_PROGRESS); then the buckets, (bucket count + 1) per terminal status; then the counts,
// STATUS_SLOTS per job type slot.
const SUM = 0;
const COUNT = 3;
const RECENT_SUM = 6;
const OLDEST = 9;
const PENDING = 11;
const BUCKETS = 13;

export class GroupAccumulator {
  /** See the cell layout above. Typed, not [0, 0, 0]: a JS array changes its elements kind at the first fractional sum. */
  cells: Float64Array;
  /** Buckets per terminal status: the bounds' length + 1 (+Inf last). */
  readonly #b1: number;
  /** Index of the first count cell. */
  readonly #countsAt: number;
  /** Job type label index → slot of counts (undefined: none counted here). Label indexes are the Aggregator's. */
  readonly slotOf: (number | undefined)[] = [];
  /** Slot → job type label index. */
  readonly slotJobType: number[] = [];
  /** Runtimes of jobs finished inside the window, per terminal status. */
  readonly recent = [new FloatList(), new FloatList(), new FloatList()];
  total = 0;

  constructor(bucketCount: number) {
    this.#b1 = bucketCount + 1;
    this.#countsAt = BUCKETS + 3 * this.#b1;
    this.cells = new Float64Array(this.#countsAt + STATUS_SLOTS);
    this.cells[OLDEST] = Infinity;
    this.cells[OLDEST + 1] = Infinity;
  }

  /**
   * Counts one job: its status label index, terminal index (-1 if none), pending index (-1 if none), job
   * type label index, `value` (the runtime in seconds, NaN for none, for a terminal status; created_at in ms
   * for a pending one) and whether it finished inside the window. `bucket` is the histogram bucket of a
   * runtime (bucketIndex), read only then.
   */
  count(
    status: number,
    terminal: number,
    pending: number,
    jobType: number,
    value: number,
    bucket: number,
    recent: boolean,
  ): void {
    this.total++;
    const at = this.#countsAt + this.slot(jobType) * STATUS_SLOTS + status;
    const c = this.cells; // read after slot(), which may grow them
    c[at] = (c[at] as number) + 1;
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test (NaN: no runtime)
    if (terminal >= 0 && value === value) {
      const b = BUCKETS + terminal * this.#b1 + bucket;
      c[b] = (c[b] as number) + 1;
      c[SUM + terminal] = (c[SUM + terminal] as number) + value;
      c[COUNT + terminal] = (c[COUNT + terminal] as number) + 1;
      if (recent) {
        (this.recent[terminal] as FloatList).push(value);
        c[RECENT_SUM + terminal] = (c[RECENT_SUM + terminal] as number) + value;
      }
    }
    if (pending >= 0) {
      c[PENDING + pending] = (c[PENDING + pending] as number) + 1;
      if (value < (c[OLDEST + pending] as number)) c[OLDEST + pending] = value;
    }
  }

  /** The slot of a job type label, made on first use. */
  slot(jobType: number): number {
    const known = this.slotOf[jobType];
    if (known !== undefined) return known;
    const slot = this.slotJobType.push(jobType) - 1;
    this.slotOf[jobType] = slot;
    const needed = this.#countsAt + (slot + 1) * STATUS_SLOTS;
    if (needed > this.cells.length) {
      const grown = new Float64Array(this.#countsAt + 2 * (this.cells.length - this.#countsAt));
      grown.set(this.cells);
      this.cells = grown;
    }
    return slot;
  }

  /**
   * Adds another group's totals (label indexes of the same Aggregator); its window runtimes too unless
   * `withRecent` is false (the caller then gathers them itself, see Aggregator.snapshot).
   */
  merge(other: GroupAccumulator, withRecent = true): void {
    other.slotJobType.forEach((jobType, from) => {
      const into = this.#countsAt + this.slot(jobType) * STATUS_SLOTS;
      const at = other.#countsAt + from * STATUS_SLOTS;
      const cells = this.cells;
      for (let k = 0; k < STATUS_SLOTS; k++)
        cells[into + k] = (cells[into + k] as number) + (other.cells[at + k] as number);
    });
    const cells = this.cells;
    const theirs = other.cells;
    for (let k = 0; k < this.#countsAt; k++) {
      if (k === OLDEST || k === OLDEST + 1) cells[k] = Math.min(cells[k] as number, theirs[k] as number);
      else cells[k] = (cells[k] as number) + (theirs[k] as number);
    }
    if (withRecent) for (let t = 0; t < 3; t++) (this.recent[t] as FloatList).pushAll(other.recent[t] as FloatList);
    this.total += other.total;
  }

  /** Back to empty, keeping the memory (a group refilled again and again). */
  reset(): void {
    this.cells.fill(0);
    this.cells[OLDEST] = Infinity;
    this.cells[OLDEST + 1] = Infinity;
    this.slotOf.length = 0;
    this.slotJobType.length = 0;
    for (const list of this.recent) list.truncate();
    this.total = 0;
  }

  /** Drops the runtimes kept for quantiles (see Aggregator.release). */
  clearRecent(): void {
    for (const list of this.recent) list.clear();
  }

  /** Jobs counted with this job type slot and status label index. */
  jobs(slot: number, status: number): number {
    return this.cells[this.#countsAt + slot * STATUS_SLOTS + status] as number;
  }

  /** Non-cumulative bucket counts of a terminal status (+Inf last), a copy. */
  buckets(terminal: number): number[] {
    const from = BUCKETS + terminal * this.#b1;
    return Array.from(this.cells.subarray(from, from + this.#b1));
  }

  runtimeSum(terminal: number): number {
    return this.cells[SUM + terminal] as number;
  }

  runtimeCount(terminal: number): number {
    return this.cells[COUNT + terminal] as number;
  }

  recentSum(terminal: number): number {
    return this.cells[RECENT_SUM + terminal] as number;
  }

  /** Smallest created_at (ms) of the jobs in a pending status; Infinity when none. */
  oldestCreatedMs(pending: number): number {
    return this.cells[OLDEST + pending] as number;
  }

  pending(pending: number): number {
    return this.cells[PENDING + pending] as number;
  }
}
