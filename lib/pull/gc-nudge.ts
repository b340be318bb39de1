/**
 * Frees the transport's spent buffers while a large body streams in.
 *
 * Every socket read is a fresh 64 KiB buffer, and the HTTP parser copies each body piece into another; both
 * live outside the JS heap and are freed only when a garbage collection finds them dead. The exporter
 * keeps almost nothing on the JS heap while it reads (records are scanned from the bytes), so collections
 * are rare and tens of MB of dead buffers pile up. A minor collection (a scavenge of the nearly empty young
 * generation, well under a millisecond) every NUDGE_EVERY_BYTES frees them, so that the peak does not grow
 * with the size of the list (figures: docs/performance.md, "Spent transport buffers are freed").
 *
 * loadYoungGenerationHold (below) keeps those scavenges from growing V8's young generation during a pull.
 *
 * Node offers no garbage-collection call without --expose-gc, so the flag is set at run time and `gc` taken
 * from a new context, as jest's leak detector does. Where that fails (another engine, a flag refused), the
 * nudge is a no-op and only memory is lost, never data.
 */

/** Bytes of body between two nudges: ~110 scavenges for a 460 MB list (the sizes tried: docs/performance.md). */
export const NUDGE_EVERY_BYTES = 4 * 2 ** 20;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

/** A minor collection, or nothing when none can be had. */
export type MinorGc = () => void;

let loaded: Promise<MinorGc> | undefined;

/**
 * V8's own value of the flag (src/flags/flag-definitions.h: `DEFINE_INT(semi_space_growth_factor, 2, …)`),
 * put back when the last hold is released.
 */
const V8_SEMI_SPACE_GROWTH_FACTOR = 2;

/** Takes a hold on the young generation's size; the function returned releases it. */
export type YoungGenerationHold = () => () => void;

let holdLoaded: Promise<YoungGenerationHold> | undefined;

/** The process's minor-collection function, made once. */
export function loadMinorGc(): Promise<MinorGc> {
  loaded ??= loadGc().then((gc) => (gc === undefined ? () => undefined : () => gc({ type: 'minor' })));
  return loaded;
}

let gcLoaded: Promise<GcFunction | undefined> | undefined;

/** V8's `gc`, taken as the module comment says; undefined when it cannot be had. */
function loadGc(): Promise<GcFunction | undefined> {
  gcLoaded ??= (async () => {
    const exposed = (globalThis as { gc?: GcFunction }).gc;
    if (typeof exposed === 'function') return exposed;
    try {
      const [v8, vm] = await Promise.all([import('node:v8'), import('node:vm')]);
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as unknown;
      if (typeof gc === 'function') return gc as GcFunction;
    } catch {
      // no way to collect here: nudges do nothing
    }
    return undefined;
  })();
  return gcLoaded;
}

/**
 * Asks for a full collection, run by V8 in a task of its own (not in the caller's stack), for when a large buffer
 * has just become garbage: on the old generation it would wait for the next full collection, which a process
 * that allocates little may not run for a long time (docs/reliability.md, the large render). Does nothing where
 * `gc` cannot be had.
 */
export function collectSoon(): void {
  void loadGc().then((gc) => gc?.({ type: 'major', execution: 'async' }));
}

/**
 * Keeps V8's young generation at its current size while a pull holds it.
 *
 * V8 doubles the young generation once the bytes surviving its scavenges, summed since the last growth,
 * exceed its size. A long pull runs a scavenge every NUDGE_EVERY_BYTES, each with a few tens of KB of live
 * transport objects, so without the hold the new space would grow with the length of the pull
 * (docs/performance.md, "The young generation keeps its size during a pull", with the Node 22 caveat). The growth
 * factor is read at each growth, so setting it to 1 for the pull's duration stops the growth and nothing else;
 * the limit flag (--max-semi-space-size) is read only at start-up. Holds nest (concurrent pulls); the
 * factor goes back to V8's default when the last one is released, so a factor set on the command line is not
 * restored. Where flags cannot be set, holding does nothing.
 */
export function loadYoungGenerationHold(): Promise<YoungGenerationHold> {
  holdLoaded ??= (async () => {
    let setFlags: (flags: string) => void;
    try {
      setFlags = (await import('node:v8')).setFlagsFromString;
    } catch {
      return () => () => undefined;
    }
    let holders = 0;
    return () => {
      if (holders++ === 0) setFlags('--semi-space-growth-factor=1');
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--holders === 0) setFlags(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
      };
    };
  })();
  return holdLoaded;
}
