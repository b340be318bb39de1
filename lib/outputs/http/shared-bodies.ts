/**
 * One response body per collection and variant (format, encoding), shared by every request that asks for it
 * while it is alive, and a cap on how many distinct bodies are alive at once.
 *
 * Without it each request rendered its own body and held it until the client had read it: 3,000 clients that
 * asked for /metrics and never read held 3,000 copies of a 640 KB render (RSS 69 MB → 941 MB). Now they hold
 * one, and rendering and gzip run once per variant, not once per request. A body lives while at least one
 * response still sends it; the last `release()` hands its memory back (to the renderer's arena).
 */
import type { HttpResponse } from './app.js';

/**
 * Distinct bodies alive at once. One collection has at most six variants (/metrics in two formats × two
 * encodings, the status page in two encodings); bodies of the previous collection may still be on their way to
 * slow clients (SEND_TIMEOUT bounds how long). Past the cap a request is answered 503 at once, without rendering.
 */
export const MAX_LIVE_BODIES = 8;

/** What a producer makes once per variant: the response, and how to free its memory when nobody sends it any more. */
export interface Produced {
  readonly response: HttpResponse;
  readonly release?: () => void;
}

interface Entry {
  readonly produced: Promise<Produced>;
  refs: number;
}

export class SharedBodies<K extends object> {
  readonly #max: number;
  /** Live entries by owner (the collection) and variant; an owner's map is removed with its last entry. */
  readonly #entries = new Map<K, Map<string, Entry>>();
  #live = 0;

  constructor(max: number = MAX_LIVE_BODIES) {
    this.#max = max;
  }

  /** Distinct bodies alive (being made or sent). */
  get live(): number {
    return this.#live;
  }

  /**
   * The response for (`owner`, `variant`): the live one when there is one, else `produce()`'s, or `busy()` when
   * MAX_LIVE_BODIES bodies are alive already. Each call's `release` must be called once its body was sent or dropped.
   */
  async get(
    owner: K,
    variant: string,
    produce: () => Promise<Produced>,
    busy: () => HttpResponse,
  ): Promise<HttpResponse> {
    let variants = this.#entries.get(owner);
    let entry = variants?.get(variant);
    if (entry === undefined) {
      if (this.#live >= this.#max) return busy();
      if (variants === undefined) this.#entries.set(owner, (variants = new Map()));
      const made: Entry = { produced: produce(), refs: 0 };
      entry = made;
      variants.set(variant, made);
      this.#live++;
      // A failed production is forgotten at once, so the next request tries again.
      made.produced.catch(() => this.#remove(owner, variant, made));
    }
    entry.refs++;
    let produced: Produced;
    try {
      produced = await entry.produced;
    } catch (error) {
      entry.refs--;
      throw error;
    }
    const held = entry;
    let released = false;
    return {
      ...produced.response,
      release: () => {
        if (released) return;
        released = true;
        if (--held.refs > 0) return;
        if (this.#remove(owner, variant, held)) produced.release?.();
      },
    };
  }

  /** Removes the entry if it is still the live one; true when it was. */
  #remove(owner: K, variant: string, entry: Entry): boolean {
    const variants = this.#entries.get(owner);
    if (variants?.get(variant) !== entry) return false;
    variants.delete(variant);
    if (variants.size === 0) this.#entries.delete(owner);
    this.#live--;
    return true;
  }
}
