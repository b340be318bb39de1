/**
 * The details stage's candidates (lib/details/stage.ts): the terminal jobs that finished inside the runtime window,
 * gathered during the collector's pass over the list. Bounded by design: only the newest `bound` of them are kept
 * (the stage never looks past MAX_REMEMBERED_DETAILS: older ones are counted, and reported as pending), in a
 * binary heap whose root is the oldest kept, so an older candidate costs one comparison once the heap is full.
 *
 * A kept candidate is ~28 bytes in parallel typed arrays, not an object: its finish time (a Float64), its id as the
 * four words of a UUID (an id that is not a canonical UUID keeps its string, in an array made only when one comes),
 * and its workflow id (a reference to the scanner's interned string; the slow path's are interned here, up to
 * MAX_INTERNED_WORKFLOW_IDS). No id string is made until the stage asks for it, and only for kept candidates.
 * Figures: docs/performance.md ("Job details").
 *
 * No dedupe here: the caller passes first sightings only (the aggregation's answer, Aggregator.add), so that a
 * duplicate is counted once, as in the aggregation.
 */
import { wellFormed } from '../common/text.js';
import type { Job } from '../records/job.js';
import { finishesByNow } from '../records/runtime-bound.js';
import type { ScannedJob } from '../records/scanner.js';
import { uuidFromString, uuidToString } from '../records/uuid.js';
import { TERMINAL_STATUSES } from '../vocabulary.js';
import { MAX_REMEMBERED_DETAILS } from './known-details.js';

/** Slots allocated at first; doubled up to the bound (a small account costs a few KB). */
const INITIAL_CAPACITY = 1024;
/** Distinct workflow id strings of the slow path (JSON.parse makes one per record) interned; past it, kept as is. */
const MAX_INTERNED_WORKFLOW_IDS = 4096;

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/** A terminal job that finished inside the window, as the stage hands it to requests and the report. */
export interface DetailsCandidate {
  readonly id: string;
  /** As the aggregation keys it (wellFormed), so it matches `snapshot.workflows[].id`. */
  readonly workflowId: string;
  /** created_at + runtime, epoch ms. */
  readonly finishedAtMs: number;
}

export class DetailsCandidates {
  /** Candidates kept at most (the newest). */
  readonly bound: number;
  readonly #windowStartMs: number;
  readonly #nowMs: number;
  /** Every candidate added, kept or not. */
  #count = 0;
  #size = 0;
  #capacity = 0;
  // Slot `#size` is the staging slot of the next candidate (arrays hold capacity + 1 slots).
  #finished = new Float64Array(0);
  #words = new Int32Array(0);
  #workflows: string[] = [];
  /** Ids that are not canonical UUIDs, by slot; made when the first one comes. */
  #strings: (string | undefined)[] | undefined = undefined;
  readonly #interned = new Map<string, string>();
  readonly #scratch = new Int32Array(4);
  #sorted = false;

  constructor(nowMs: number, runtimeWindowSeconds: number, bound: number = MAX_REMEMBERED_DETAILS) {
    this.#nowMs = nowMs;
    this.#windowStartMs = nowMs - runtimeWindowSeconds * 1000;
    this.bound = Math.max(0, Math.floor(bound));
    this.#grow(Math.min(INITIAL_CAPACITY, this.bound));
  }

  /** Candidates added (first sightings in the window), kept or not. */
  get count(): number {
    return this.#count;
  }

  /** Candidates kept: the newest min(count, bound). */
  get size(): number {
    return this.#size;
  }

  /** Whether a record with these fields is a candidate (runtime NaN for none). */
  wants(status: string, createdAtMs: number, runtime: number): boolean {
    // The aggregation's rule (aggregator.ts #count): terminal, a valid runtime, finished at or after the window start.
    return TERMINAL.has(status) && !Number.isNaN(runtime) && createdAtMs + runtime * 1000 >= this.#windowStartMs;
  }

  /** A first sighting read by JSON.parse (toJob). */
  readonly add = (job: Job): void =>
    this.addRecord(job.id, job.workflowId, job.status, job.createdAtMs, job.runtimeSeconds ?? Number.NaN);

  /** A first sighting read by the scanner's fast path: its id words are taken as they are (no string made). */
  addScanned(job: ScannedJob): void {
    if (job.idString !== undefined) {
      this.addRecord(job.idString, job.workflowId, job.status, job.createdAtMs, job.runtime);
      return;
    }
    if (!this.#stage(job.status, job.createdAtMs, job.runtime)) return;
    this.#put(job.id0, job.id1, job.id2, job.id3, undefined, job.workflowId);
  }

  /** add() from the fields alone. */
  addRecord(id: string, workflowId: string, status: string, createdAtMs: number, runtime: number): void {
    if (!this.#stage(status, createdAtMs, runtime)) return;
    const w = this.#scratch;
    if (uuidFromString(id, w)) this.#put(w[0]!, w[1]!, w[2]!, w[3]!, undefined, workflowId);
    else this.#put(0, 0, 0, 0, id, workflowId);
  }

  /**
   * Orders the kept candidates newest first (finish time descending, then id ascending), in place (a heapsort:
   * no copy). Adding is refused from then on.
   */
  sortNewestFirst(): void {
    if (this.#sorted) return;
    this.#sorted = true;
    for (let end = this.#size - 1; end > 0; end--) {
      this.#swap(0, end);
      this.#siftDown(0, end);
    }
  }

  /** The id of kept candidate `i` (a new string for a UUID). */
  idAt(i: number): string {
    const s = this.#strings?.[i];
    if (s !== undefined) return s;
    const w = this.#words;
    return uuidToString(w[4 * i]!, w[4 * i + 1]!, w[4 * i + 2]!, w[4 * i + 3]!);
  }

  workflowIdAt(i: number): string {
    return this.#workflows[i]!;
  }

  finishedAtMsAt(i: number): number {
    return this.#finished[i]!;
  }

  /** Kept candidate `i` as an object (made for the few the stage requests or reports). */
  at(i: number, id: string = this.idAt(i)): DetailsCandidate {
    return { id, workflowId: this.workflowIdAt(i), finishedAtMs: this.finishedAtMsAt(i) };
  }

  /** The first `n` kept candidates' ids (in order once sorted). */
  *ids(n: number = this.#size): IterableIterator<string> {
    for (let i = 0; i < Math.min(n, this.#size); i++) yield this.idAt(i);
  }

  /** The window and by-now checks; true when the record is a candidate (then counted). */
  #stage(status: string, createdAtMs: number, runtime: number): boolean {
    if (!this.wants(status, createdAtMs, runtime)) return false;
    if (!finishesByNow(createdAtMs, runtime, this.#nowMs)) return false;
    if (this.#sorted) throw new Error('DetailsCandidates: add after sortNewestFirst()');
    this.#count++;
    this.#finished[this.#size] = Math.round(createdAtMs + runtime * 1000);
    return true;
  }

  /** Writes the rest of the staged candidate, then keeps it (heap push, or in place of the oldest) or drops it. */
  #put(a: number, b: number, c: number, d: number, id: string | undefined, rawWorkflowId: string): void {
    const s = this.#size;
    const w = this.#words;
    w[4 * s] = a;
    w[4 * s + 1] = b;
    w[4 * s + 2] = c;
    w[4 * s + 3] = d;
    if (id !== undefined || this.#strings !== undefined) {
      this.#strings ??= new Array<string | undefined>(this.#capacity + 1).fill(undefined);
      this.#strings[s] = id;
    }
    this.#workflows[s] = this.#workflowId(rawWorkflowId);
    if (s < this.#capacity) {
      this.#size++;
      this.#siftUp(s);
      if (this.#size === this.#capacity && this.#capacity < this.bound)
        this.#grow(Math.min(this.bound, 2 * this.#capacity));
      return;
    }
    // Full (at the bound): kept only when newer than the oldest kept, which it replaces.
    if (s === 0 || this.#older(s, 0)) {
      this.#workflows[s] = '';
      if (this.#strings !== undefined) this.#strings[s] = undefined;
      return;
    }
    this.#swap(0, s);
    this.#siftDown(0, s);
    this.#workflows[s] = '';
    if (this.#strings !== undefined) this.#strings[s] = undefined;
  }

  #workflowId(raw: string): string {
    const known = this.#interned.get(raw);
    if (known !== undefined) return known;
    const shown = wellFormed(raw);
    if (this.#interned.size < MAX_INTERNED_WORKFLOW_IDS) this.#interned.set(raw, shown);
    return shown;
  }

  /** Whether candidate i comes after j newest first (older, or as old with a greater id). */
  #older(i: number, j: number): boolean {
    const fi = this.#finished[i]!;
    const fj = this.#finished[j]!;
    if (fi !== fj) return fi < fj;
    return this.#compareIds(i, j) > 0;
  }

  #compareIds(i: number, j: number): number {
    const strings = this.#strings;
    if (strings !== undefined && (strings[i] !== undefined || strings[j] !== undefined)) {
      const a = this.idAt(i);
      const b = this.idAt(j);
      return a < b ? -1 : a > b ? 1 : 0;
    }
    // Canonical lower-case UUIDs: the order of their text is the order of their words, unsigned.
    const w = this.#words;
    for (let k = 0; k < 4; k++) {
      const x = w[4 * i + k]! >>> 0;
      const y = w[4 * j + k]! >>> 0;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  /** Min-heap on age: the root is the oldest kept. */
  #siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#older(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #siftDown(i: number, size: number): void {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const child = r < size && this.#older(r, l) ? r : l;
      if (!this.#older(child, i)) return;
      this.#swap(i, child);
      i = child;
    }
  }

  #swap(i: number, j: number): void {
    const f = this.#finished;
    const t = f[i]!;
    f[i] = f[j]!;
    f[j] = t;
    const w = this.#words;
    for (let k = 0; k < 4; k++) {
      const x = w[4 * i + k]!;
      w[4 * i + k] = w[4 * j + k]!;
      w[4 * j + k] = x;
    }
    const wf = this.#workflows;
    const y = wf[i]!;
    wf[i] = wf[j]!;
    wf[j] = y;
    const strings = this.#strings;
    if (strings !== undefined) {
      const z = strings[i];
      strings[i] = strings[j];
      strings[j] = z;
    }
  }

  /** Room for `capacity` candidates and the staging slot (the staged one moves with the copy). */
  #grow(capacity: number): void {
    const slots = capacity + 1;
    const finished = new Float64Array(slots);
    finished.set(this.#finished);
    const words = new Int32Array(4 * slots);
    words.set(this.#words);
    this.#finished = finished;
    this.#words = words;
    this.#capacity = capacity;
    if (this.#strings !== undefined) this.#strings.length = slots;
  }
}
