/**
 * The jobs of cold workflows (aggregator.ts), 14 bytes a job: one chain per workflow, in the order the jobs
 * came, through three shared typed arrays. A job is its status and job type label indexes and whether it
 * finished inside the runtime window (one 16-bit code) and one double: its runtime for a terminal status,
 * its created_at for a pending one. That is all a group needs to count it (GroupAccumulator.count), so
 * replaying a chain into a group gives what counting the jobs there directly would have, bit for bit.
 * A chain that is replayed for good (its workflow turned hot) is handed back to a free list and its entries
 * reused: the log holds at most (promotion threshold − 1) jobs per tracked workflow.
 */

/** Label indexes are below 32 (aggregator.ts: STATUS_SLOTS, and at most 25 job type labels). */
const LABEL_BITS = 5;
const LABEL_MASK = (1 << LABEL_BITS) - 1;
const RECENT_BIT = 1 << (2 * LABEL_BITS);

/** Where a chain starts and ends, per workflow row (-1: none). */
export interface Chains {
  head: Int32Array;
  tail: Int32Array;
}

export class JobLog {
  #next = new Int32Array(1024);
  #code = new Uint16Array(1024);
  #value = new Float64Array(1024);
  /** Entries taken from the arrays so far (free or not). */
  #used = 0;
  /** First entry of the free list, -1 when empty. */
  #free = -1;

  /** Appends a job to the chain of `row`. */
  append(chains: Chains, row: number, status: number, jobType: number, recent: boolean, value: number): void {
    let e = this.#free;
    if (e >= 0) this.#free = this.#next[e]!;
    else {
      if (this.#used === this.#next.length) this.#grow();
      e = this.#used++;
    }
    this.#next[e] = -1;
    this.#code[e] = status | (jobType << LABEL_BITS) | (recent ? RECENT_BIT : 0);
    this.#value[e] = value;
    const tail = chains.tail[row]!;
    if (tail < 0) chains.head[row] = e;
    else this.#next[tail] = e;
    chains.tail[row] = e;
  }

  /** Calls `job` for each job of the chain of `row`, in order. */
  replay(
    chains: Chains,
    row: number,
    job: (status: number, jobType: number, recent: boolean, value: number) => void,
  ): void {
    const next = this.#next;
    const code = this.#code;
    const value = this.#value;
    for (let e = chains.head[row]!; e >= 0; e = next[e]!) {
      const c = code[e]!;
      job(c & LABEL_MASK, (c >>> LABEL_BITS) & LABEL_MASK, (c & RECENT_BIT) !== 0, value[e]!);
    }
  }

  /** Hands the chain of `row` to the free list; the row has no chain after. */
  free(chains: Chains, row: number): void {
    const head = chains.head[row]!;
    if (head < 0) return;
    this.#next[chains.tail[row]!] = this.#free;
    this.#free = head;
    chains.head[row] = -1;
    chains.tail[row] = -1;
  }

  /** Entries the arrays hold room for (14 bytes each). */
  get capacity(): number {
    return this.#next.length;
  }

  #grow(): void {
    const size = this.#next.length * 2;
    const next = new Int32Array(size);
    next.set(this.#next);
    const code = new Uint16Array(size);
    code.set(this.#code);
    const value = new Float64Array(size);
    value.set(this.#value);
    this.#next = next;
    this.#code = code;
    this.#value = value;
  }
}
