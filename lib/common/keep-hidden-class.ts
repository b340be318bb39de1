/**
 * Keeps the last instance of a class alive, so that V8 keeps the class's hidden class (its "map").
 *
 * Why: once every instance of a class is gone, a full GC may collect the hidden classes its instances ended
 * with, and the optimised code built on them is thrown away with them ("weak objects" in --trace-deopt). The
 * next collection's objects get new hidden classes, and after a few rounds the inline caches turn
 * megamorphic for good: a serving exporter would slow down after a few collections. The objects that live
 * for one collection or one render (the Aggregator and its groups, the scanner's record, the exposition
 * writer) are handed here once emptied, and each replaces the previous one of its class. docs/performance.md
 * ("The same speed at the hundredth collection as at the first") has the measurements.
 */
const kept = new Map<unknown, readonly object[]>();

/**
 * Keeps `instance` (and `alongside`, objects of other classes it used) referenced until the next call for
 * an instance of the same class. The caller empties it first: only its shape is worth keeping.
 */
export function keepHiddenClass(instance: object, ...alongside: object[]): void {
  kept.set(instance.constructor, [instance, ...alongside]);
}
