/**
 * State version 3: the outcome events' part (`details`). Version 2 states (test/golden/events-state/state-v2.json,
 * written by the code before issue 16) still read; whatever the encoder writes, the decoder reads back.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeenIds } from '../lib/events/seen-ids.js';
import {
  decodeState,
  encodeState,
  MAX_STATE_TIME_MS,
  STATE_FORMAT,
  StateEncodeError,
  type EventsState,
  type OutcomeEvent,
} from '../lib/events/state.js';
import { StateCorruptError } from '../lib/events/store.js';

const V2 = readFileSync(new URL('./golden/events-state/state-v2.json', import.meta.url), 'utf8');
const HOUR = 3_600_000;

const outcome = fc.record({
  id: fc.string({ minLength: 1 }),
  workflow: fc.string({ minLength: 1 }),
  finishedAtMs: fc.integer({ min: 0, max: MAX_STATE_TIME_MS }),
  filesFailed: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
  completedWithErrors: fc.boolean(),
});

describe('finished-jobs state version 3 (outcome events)', () => {
  it('reads a version 2 state as one with no outcome published, and writes it back as version 3', () => {
    // Act
    const v2 = decodeState(V2, 'golden v2');
    const v3 = decodeState(encodeState(v2), 'again');

    // Assess
    expect(v2.version).toBe(2);
    expect(v2.details?.seen.size).toBe(0);
    expect(v2.details?.pending).toEqual([]);
    expect(v3.version).toBe(3);
    expect(v3.seen.size).toBe(v2.seen.size);
    expect(v3.seen.has('legacy-job-13')).toBe(true);
    expect(v3.pending).toEqual(v2.pending);
    expect(JSON.parse(encodeState(v2))).toMatchObject({ format: STATE_FORMAT, version: 3, details: { pending: [] } });
  });

  it('round-trips outcome events and published ids, whatever they are', () => {
    fc.assert(
      fc.property(
        fc.array(outcome, { maxLength: 20 }),
        fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 400_000 })), { maxLength: 50 }),
        (pending, ids) => {
          // Prepare
          const seen = new SeenIds();
          for (const [id, hour] of ids) seen.add(id, hour * HOUR);
          const state: EventsState = {
            createdAtMs: 0,
            updatedAtMs: 1,
            seen: new SeenIds(),
            pending: [],
            details: { seen, pending },
          };

          // Act
          const text = encodeState(state);
          const back = decodeState(text, 'property');

          // Assess
          expect(back.details?.pending).toEqual(pending);
          expect(back.details?.seen.size).toBe(seen.size);
          for (const [id] of ids) expect(back.details?.seen.has(id)).toBe(true);
          expect(encodeState(back)).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses to write an outcome event it could not read back, and refuses to read one', () => {
    // Prepare
    const bad: OutcomeEvent[] = [
      { id: 'x', workflow: 'W', finishedAtMs: 1, filesFailed: -1, completedWithErrors: false },
      { id: 'x', workflow: 'W', finishedAtMs: 1, filesFailed: 1.5, completedWithErrors: false },
      { id: '', workflow: 'W', finishedAtMs: 1, filesFailed: 1, completedWithErrors: true },
      { id: 'x', workflow: 'W', finishedAtMs: -5, filesFailed: 1, completedWithErrors: true },
    ];
    for (const e of bad) {
      const state: EventsState = {
        createdAtMs: 0,
        updatedAtMs: 0,
        seen: new SeenIds(),
        pending: [],
        details: { seen: new SeenIds(), pending: [e] },
      };
      const good = { ...e, id: 'ok', filesFailed: 1, finishedAtMs: 1 };
      const text = encodeState({ ...state, details: { seen: new SeenIds(), pending: [good] } }).replace(
        JSON.stringify(good),
        JSON.stringify(e),
      );

      // Act + Assess
      expect(() => encodeState(state)).toThrow(StateEncodeError);
      expect(() => decodeState(text, 'bad')).toThrow(StateCorruptError);
    }
  });

  it('refuses a version 3 state without its details part, naming it', () => {
    // Prepare
    const doc = JSON.parse(encodeState(decodeState(V2, 'v2'))) as Record<string, unknown>;
    delete doc.details;

    // Act + Assess
    expect(() => decodeState(JSON.stringify(doc), 'state.json')).toThrow(/"details" is not an object/);
  });
});
