/**
 * A one-value cache with single flight: while a collection runs, every caller shares it; a finished
 * collection (success or failure) is reused for `ttlMs`, so N concurrent or frequent scrapes cost one
 * upstream pull per period.
 */
export class SingleFlightCache<T> {
  readonly #ttlMs: number;
  readonly #load: () => Promise<T>;
  readonly #now: () => number;
  #value: { value: T; atMs: number } | undefined;
  #inFlight: Promise<T> | undefined;

  constructor(load: () => Promise<T>, options: { ttlMs: number; now?: () => number }) {
    this.#load = load;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** The last value, if any, without loading. */
  peek(): T | undefined {
    return this.#value?.value;
  }

  get(): Promise<T> {
    if (this.#value !== undefined && this.#now() - this.#value.atMs < this.#ttlMs)
      return Promise.resolve(this.#value.value);
    if (this.#inFlight === undefined) {
      this.#inFlight = this.#load().then(
        (value) => {
          this.#value = { value, atMs: this.#now() };
          this.#inFlight = undefined;
          return value;
        },
        (error: unknown) => {
          this.#inFlight = undefined;
          throw error;
        },
      );
    }
    return this.#inFlight;
  }
}
