/**
 * Frees the transport's spent buffers while a large body streams in.
 *
 * Every socket read is a fresh 64 KiB buffer, and the HTTP parser copies each body piece into another; both
 * live outside the JS heap and are freed only when a garbage collection finds them dead. The exporter
 * allocates almost nothing on the JS heap while it reads (records are scanned from the bytes), so collections
 * are rare and tens of MB of dead buffers pile up: a 1M-job download that drops every byte peaks at 82–92 MB
 * under a 64 MB heap. A minor collection (a scavenge of the nearly empty young generation, well under a
 * millisecond) every NUDGE_EVERY_BYTES frees them: the same download peaks at 58–59 MB, at 100k and at 1M
 * jobs alike (measured on Node 20 with a local server; docs/performance.md).
 *
 * Node offers no garbage-collection call without --expose-gc, so the flag is set at run time and `gc` taken
 * from a new context, as jest's leak detector does. Where that fails (another engine, a flag refused), the
 * nudge is a no-op and only memory is lost, never data.
 */

/**
 * Bytes of body between two nudges: ~110 scavenges for a 460 MB list (~0.3 ms each). Measured at 1M jobs:
 * 8 MiB gave peaks of 94–98 MB, 4 MiB 85–88 MB with a smaller spread.
 */
export const NUDGE_EVERY_BYTES = 4 * 2 ** 20;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

/** A minor collection, or nothing when none can be had. */
export type MinorGc = () => void;

let loaded: Promise<MinorGc> | undefined;

/** The process's minor-collection function, made once. */
export function loadMinorGc(): Promise<MinorGc> {
  loaded ??= (async () => {
    const exposed = (globalThis as { gc?: GcFunction }).gc;
    if (typeof exposed === 'function') return () => exposed({ type: 'minor' });
    try {
      const [v8, vm] = await Promise.all([import('node:v8'), import('node:vm')]);
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as unknown;
      if (typeof gc === 'function') return () => (gc as GcFunction)({ type: 'minor' });
    } catch {
      // no way to collect here: nudges do nothing
    }
    return () => undefined;
  })();
  return loaded;
}
