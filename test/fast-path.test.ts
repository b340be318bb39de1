/**
 * The byte-level fast path (JobRecordScanner, IdSet, byte parsers, selection quantiles, the direct
 * Prometheus writer) against the reference path it replaces (JSON.parse + toJob, Set<string>, the string
 * parsers, sort-based quantiles, prom-client's Registry). Equivalence is the contract: same records, same
 * skip reasons, same failures, same bytes out.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { IdSet } from '../lib/aggregate/id-set.js';
import type { Collection } from '../lib/collection.js';
import { parseIsoDuration, parseIsoDurationBytes } from '../lib/records/duration.js';
import type { Job } from '../lib/records/job.js';
import { JsonArrayStream, JsonStreamError } from '../lib/pull/json-stream.js';
import { quantiles, selectQuantiles } from '../lib/aggregate/percentile.js';
import { SCAN_DECLINE, SCAN_NEED_MORE } from '../lib/records/json-bytes.js';
import { parseRfc3339, parseRfc3339Bytes } from '../lib/records/rfc3339.js';
import { JobRecordScanner, type ScannedJob } from '../lib/records/scanner.js';
import { toJob } from '../lib/records/to-job.js';
import { uuidFromBytes, uuidFromString, uuidToString } from '../lib/records/uuid.js';
import { renderPrometheus } from '../lib/outputs/prometheus/render.js';
import { buildMetrics } from './support/prom-client-oracle.js';
import type { WorkflowInventory } from '../lib/aggregate/workflow-health.js';
import { wellFormed } from '../lib/common/text.js';
import { noWorkflowSkips } from '../lib/records/workflow.js';
import type { JobDetailsReport } from '../lib/details/stage.js';
import type { SkipReason } from '../lib/vocabulary.js';
import { MAX_CLOCK_SKEW_MS } from '../lib/records/runtime-bound.js';

/** "now" of every collection here: runtimes ending after it (plus the skew) are longer than the job's age. */
const NOW_MS = Date.parse('2026-11-29T12:00:00Z');

// ---------------------------------------------------------------------------------------------------------
// A serializer with control over what JSON.stringify decides: whitespace anywhere, escapes of any
// character (\uXXXX, \/ and the short forms), escaped keys, repeated keys.

interface Style {
  /** Deterministic choices (seeded). */
  readonly next: () => number;
  /** Whitespace bytes to pick from between tokens ('' for compact). */
  readonly spaces: string;
  /** Chance of writing a character as an escape. */
  readonly escapeRate: number;
}

function styleOf(seed: number, spaces: string, escapeRate: number): Style {
  let x = seed | 0 || 1;
  return {
    next: () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4294967296;
    },
    spaces,
    escapeRate,
  };
}

function ws(style: Style): string {
  if (style.spaces === '' || style.next() < 0.5) return '';
  let out = '';
  const n = 1 + Math.floor(style.next() * 3);
  for (let i = 0; i < n; i++) out += style.spaces[Math.floor(style.next() * style.spaces.length)];
  return out;
}

function encodeString(text: string, style: Style): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (code > 0xffff) {
      // Astral: raw, or as a surrogate pair of escapes.
      if (style.next() < style.escapeRate) {
        for (let k = 0; k < ch.length; k++) out += `\\u${ch.charCodeAt(k).toString(16).padStart(4, '0')}`;
      } else out += ch;
      continue;
    }
    const mustEscape = ch === '"' || ch === '\\' || code < 0x20 || (code >= 0xd800 && code <= 0xdfff);
    if (mustEscape || style.next() < style.escapeRate) {
      const short: Record<string, string> = {
        '"': '\\"',
        '\\': '\\\\',
        '\n': '\\n',
        '\r': '\\r',
        '\t': '\\t',
        '\b': '\\b',
        '\f': '\\f',
        '/': '\\/',
      };
      const hex = `\\u${code
        .toString(16)
        .padStart(4, style.next() < 0.5 ? '0' : '0')
        .toUpperCase()}`;
      out +=
        short[ch] !== undefined && style.next() < 0.5
          ? short[ch]
          : style.next() < 0.5
            ? hex
            : hex.toLowerCase().replace('\\u', '\\u');
    } else out += ch;
  }
  return `${out}"`;
}

function serialize(value: unknown, style: Style): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value) ?? 'null';
  if (typeof value === 'string') return encodeString(value, style);
  if (Array.isArray(value)) {
    if (value.length === 0) return `[${ws(style)}]`;
    return `[${value.map((v) => `${ws(style)}${serialize(v, style)}${ws(style)}`).join(',')}]`;
  }
  if (value instanceof RawEntries) {
    if (value.entries.length === 0) return `{${ws(style)}}`;
    return `{${value.entries.map(([k, v]) => `${ws(style)}${encodeKey(k, style)}${ws(style)}:${ws(style)}${serialize(v, style)}${ws(style)}`).join(',')}}`;
  }
  return serialize(new RawEntries(Object.entries(value as Record<string, unknown>)), style);
}

/** Keys are escaped rarely (an escaped key sends the element to JSON.parse, which is fine but proves less). */
function encodeKey(key: string, style: Style): string {
  return encodeString(key, { ...style, escapeRate: style.escapeRate / 50 });
}

/** An object as an ordered list of entries: keys may repeat (JSON.parse keeps the last). */
class RawEntries {
  constructor(readonly entries: readonly (readonly [string, unknown])[]) {}
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

const STATUSES = ['SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'STOPPED', 'FAILED', 'active', 'x', 'Completed'];
const TRICKY = [
  '',
  ' ',
  'é',
  '中',
  '😀',
  '"',
  '\\',
  '/',
  '\n',
  '\u0000',
  '\u001f',
  '\u007f',
  '\ud800',
  '\udc00x',
  'a\u2028b',
  '\ufeff',
];

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: fc.constantFrom(...TRICKY, 'a', 'b', '-', '0'), maxLength: 8 }),
  fc.constantFrom(...TRICKY),
);
const uuidText = fc.oneof(
  { weight: 6, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.replace(/-/g, '')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'g0000000-0000-0000-0000-000000000000',
    ),
  },
  { weight: 1, arbitrary: fc.nat({ max: 50 }).map((n) => `job-${n}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('x'.repeat(256), 'x'.repeat(257), 'é'.repeat(200), '😀'.repeat(128), '😀'.repeat(129)),
  },
);
const timestamp = fc.oneof(
  fc
    .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '2026-01-01T00:00:00Z',
    '2026-01-01t00:00:00z',
    '2026-01-01T05:30:00.250+05:30',
    '2026-03-04T05:06:07.999999999-01:00',
    '2024-02-29T23:59:59Z',
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T00:00:00',
    '2026-01-01T00:00:00.Z',
    '2026-01-01 00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:00:00+01',
    `2026-01-01T00:00:00.${'1'.repeat(60)}Z`,
    '202٦-01-01T00:00:00Z',
    '',
  ),
  // Around the last moment a job may finish (now + skew), for the small runtimes below to cross it.
  fc
    .constantFrom(-1_000, 0, 1, -1_001, -MAX_CLOCK_SKEW_MS - 1_000)
    .map((ms) => new Date(NOW_MS + MAX_CLOCK_SKEW_MS + ms).toISOString()),
);
const duration = fc.oneof(
  fc.constantFrom(
    'PT2M30S',
    'PT2M30.456S',
    'PT1H2M3.456789S',
    'P1DT2H',
    'PT0S',
    'PT0.5S',
    'P1Y35D',
    '-PT5S',
    'P1W',
    'PT1,5S',
    'PT1.5H',
    'PT',
    'P',
    'P1DT',
    'pt5s',
    'PT1.5H2M',
    'two minutes',
    '',
  ),
  // Longer than any job's age (issue 15), and small ones that cross now + skew by a millisecond.
  fc.constantFrom(
    'P1100000000000Y',
    'P2739726Y9DT23H59M59.999999S',
    'P400D',
    'PT1S',
    'PT1.001S',
    'PT0.001S',
    'PT5M',
    'PT5M0.001S',
  ),
  fc
    .tuple(
      fc.nat({ max: 400 }),
      fc.nat({ max: 23 }),
      fc.nat({ max: 59 }),
      fc.nat({ max: 59 }),
      fc.nat({ max: 999_999 }),
    )
    .map(([d, h, m, s, us]) => `P${d > 0 ? `${d}D` : ''}T${h}H${m}M${s}.${String(us).padStart(6, '0')}S`),
);
const junk = fc.jsonValue({ maxDepth: 3 });
/** A field's value: mostly of its expected shape, sometimes anything. */
function fieldValue(expected: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: expected },
    { weight: 1, arbitrary: text },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 0, -1.5e-7, true, false, [], {}, ['x'], { a: 1 }) },
    { weight: 1, arbitrary: junk },
  );
}

const FIELDS = {
  id: fieldValue(uuidText),
  workflow_id: fieldValue(
    fc.oneof(fc.constantFrom('f0a1b2c3-4d5e-6f7a-8b9c-0d1e2f3a4b5c', 'wf-a', 'wf-b', 'other', '__proto__'), uuidText),
  ),
  workflow_name: fieldValue(fc.oneof(fc.constantFrom('My ETL', 'x"} 1\n# HELP', 'Café', '数据 🚀', ''), text)),
  status: fieldValue(fc.constantFrom(...STATUSES)),
  created_at: fieldValue(timestamp),
  runtime: fieldValue(duration),
  job_type: fieldValue(fc.constantFrom('ephemeral', 'persistent', 'scheduled', 'template', 'Batch Run', '')),
  input_file_ids: fc.oneof(fc.constant(null), fc.array(fc.uuid(), { maxLength: 3 }), junk),
  output_node_files: fc.oneof(
    fc.constant(null),
    fc.array(
      fc.record({
        node_id: fc.uuid(),
        file_id: text,
        node_type: fc.constant('destination'),
        node_subtype: fc.constantFrom('s3', 'gcs'),
      }),
      { maxLength: 2 },
    ),
    junk,
  ),
  extra: junk,
  constructor: junk,
} as const;
type FieldName = keyof typeof FIELDS;
const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

/** A record: a subset of the fields in any order, sometimes a field repeated, as entries. */
const recordEntries = fc
  .tuple(
    fc.shuffledSubarray(FIELD_NAMES, { minLength: 0, maxLength: FIELD_NAMES.length }),
    fc.record(FIELDS),
    fc.oneof(
      { weight: 9, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...FIELD_NAMES), junk) },
    ),
    fc.nat({ max: 20 }),
  )
  .map(([names, values, repeat, dropOdds]) => {
    // Mostly complete records (so most are valid jobs), sometimes sparse.
    const chosen =
      dropOdds === 0 ? names : FIELD_NAMES.filter((n) => names.includes(n) || !['extra', 'constructor'].includes(n));
    const entries: [string, unknown][] = chosen.map((n) => [n, values[n]]);
    if (repeat !== null) entries.splice(Math.min(entries.length, 2), 0, repeat);
    return new RawEntries(entries);
  });

/** An element: a record mostly, sometimes another JSON value. */
const element = fc.oneof({ weight: 12, arbitrary: recordEntries }, { weight: 1, arbitrary: junk });

const documentArb = fc
  .record({
    elements: fc.array(element, { maxLength: 8 }),
    seed: fc.integer(),
    spaces: fc.constantFrom('', '', ' ', ' \t\r\n'),
    escapeRate: fc.constantFrom(0, 0, 0.05, 0.5),
  })
  .map(({ elements, seed, spaces, escapeRate }) => {
    const style = styleOf(seed, spaces, escapeRate);
    const parts = elements.map((e) => `${ws(style)}${serialize(e, style)}${ws(style)}`);
    return Buffer.from(`${ws(style)}[${parts.join(',')}${elements.length === 0 ? ws(style) : ''}]${ws(style)}`, 'utf8');
  });

// ---------------------------------------------------------------------------------------------------------
// The two paths

type Outcome = Job | SkipReason;

/** The reference: the whole array through JSON.parse, every element through toJob. */
function reference(bytes: Buffer): Outcome[] {
  const parsed = JSON.parse(bytes.toString('utf8')) as unknown[];
  return parsed.map((raw) => toJob(raw, NOW_MS));
}

/** The stream with the fast path, split at `points`; each element as the fast path or JSON.parse + toJob made it. */
function fastPath(bytes: Buffer, points: readonly number[] = []): { outcomes: Outcome[]; consumed: number } {
  const outcomes: Outcome[] = [];
  const scanner = new JobRecordScanner((job: ScannedJob) => outcomes.push(job.reason ?? job.toJob()), NOW_MS);
  const stream = new JsonArrayStream((raw) => outcomes.push(toJob(raw, NOW_MS)), { objectScanner: scanner });
  for (const chunk of splitAt(bytes, points)) stream.write(chunk);
  stream.end();
  expect(stream.elementCount).toBe(outcomes.length);
  return { outcomes, consumed: scanner.count };
}

function splitAt(bytes: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...points].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of sorted) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** The stream's error (message, offset), or undefined, with or without the fast path. */
function streamError(
  bytes: Buffer,
  points: readonly number[],
  fast: boolean,
  maxElementBytes?: number,
): { message: string; offset: number } | undefined {
  const scanner = new JobRecordScanner(() => undefined, NOW_MS);
  const stream = new JsonArrayStream(() => undefined, {
    ...(fast && { objectScanner: scanner }),
    ...(maxElementBytes !== undefined && { maxElementBytes }),
  });
  try {
    for (const chunk of splitAt(bytes, points)) stream.write(chunk);
    stream.end();
    return undefined;
  } catch (error) {
    if (!(error instanceof JsonStreamError)) throw error;
    return { message: error.message, offset: error.offset };
  }
}

function outcomeOf(act: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: act() };
  } catch {
    return { ok: false };
  }
}

describe('JobRecordScanner: the same jobs and skip reasons as JSON.parse + toJob', () => {
  it('agrees on generated documents (escapes, unicode, odd whitespace, wrong types, repeated keys, nested junk, runtimes longer than the age), split anywhere', () => {
    let consumedTotal = 0;
    let elementsTotal = 0;
    let longerThanAge = 0;
    let runtimes = 0;
    fc.assert(
      fc.property(
        documentArb.chain((doc) => fc.tuple(fc.constant(doc), fc.array(fc.nat({ max: doc.length }), { maxLength: 6 }))),
        ([doc, points]) => {
          const expected = reference(doc);
          const whole = fastPath(doc);
          expect(whole.outcomes).toEqual(expected);
          expect(fastPath(doc, points).outcomes).toEqual(expected);
          consumedTotal += whole.consumed;
          elementsTotal += expected.length;
          for (const o of expected) {
            if (typeof o === 'string') continue;
            if (o.runtimeLongerThanAge) longerThanAge++;
            else if (o.runtimeSeconds !== undefined) runtimes++;
          }
        },
      ),
      { numRuns: 1500 },
    );
    // The fast path must actually be the one taken for most records, or this test proves little.
    expect(consumedTotal / elementsTotal).toBeGreaterThan(0.5);
    // Both sides of the age bound are exercised.
    expect(longerThanAge).toBeGreaterThan(100);
    expect(runtimes).toBeGreaterThan(100);
  });

  it('fails exactly when JSON.parse fails, whatever byte is damaged', () => {
    const damage = fc.constantFrom(
      '"',
      '\\',
      ',',
      ':',
      '{',
      '}',
      '[',
      ']',
      'x',
      '0',
      '-',
      '.',
      'e',
      ' ',
      '\u0001',
      '\n',
      'é',
      '\ufffd',
      'n',
      't',
      'u',
    );
    fc.assert(
      fc.property(
        documentArb.chain((doc) =>
          fc.tuple(
            fc.constant(doc),
            fc.nat({ max: Math.max(0, doc.length - 1) }),
            damage,
            fc.boolean(),
            fc.array(fc.nat({ max: doc.length + 2 }), { maxLength: 4 }),
          ),
        ),
        ([doc, at, byte, insert, points]) => {
          const damaged = Buffer.concat([
            doc.subarray(0, at),
            Buffer.from(byte, 'utf8'),
            doc.subarray(insert ? at : at + 1),
          ]);
          const cuts = points.map((p) => Math.min(p, damaged.length));
          const expected = outcomeOf(() => reference(damaged));
          const actual = outcomeOf(() => fastPath(damaged, cuts).outcomes);
          expect(actual.ok).toBe(expected.ok);
          if (expected.ok && actual.ok) expect(actual.value).toEqual(expected.value);
          // And the same error, message and offset, as the stream without the fast path.
          expect(streamError(damaged, cuts, true)).toEqual(streamError(damaged, cuts, false));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it.each([
    [
      'a repeated field (the last one wins)',
      '{"id":"a","workflow_id":"w","status":"FAILED","created_at":"2026-01-01T00:00:00Z","status":"COMPLETED"}',
    ],
    [
      'an escaped key spelling a field',
      '{"\\u0069d":"a","workflow_id":"w","status":"FAILED","created_at":"2026-01-01T00:00:00Z"}',
    ],
    [
      '__proto__ as a key',
      '{"__proto__":{"id":"x"},"id":"a","workflow_id":"w","status":"FAILED","created_at":"2026-01-01T00:00:00Z"}',
    ],
    [
      'escapes in every field',
      '{"id":"\\u0061","workflow_id":"\\/w","workflow_name":"\\"n\\"","status":"F\\u0041ILED","created_at":"2026-01-01T00:00:00\\u005a","runtime":"PT\\u0035S","job_type":"\\u0065phemeral"}',
    ],
    [
      'a lone surrogate escape in the name',
      '{"id":"a","workflow_id":"w","workflow_name":"\\ud800","status":"X","created_at":"2026-01-01T00:00:00Z"}',
    ],
    [
      'raw non-ASCII and invalid UTF-8 in strings',
      '{"id":"é","workflow_id":"w\u00ff","workflow_name":"\u4e2d","status":"\u00c9","created_at":"2026-01-01T00:00:00Z"}',
    ],
    [
      'numbers of every form in ignored fields',
      '{"x":[0,-0,1e5,1.5E+3,-2.25e-3,123456789012345678901234567890],"id":"a","workflow_id":"w","status":"S","created_at":"2026-01-01T00:00:00Z"}',
    ],
    [
      'a runtime that is a number',
      '{"id":"a","workflow_id":"w","status":"COMPLETED","created_at":"2026-01-01T00:00:00Z","runtime":150}',
    ],
    ['an empty object', '{}'],
    [
      'whitespace everywhere',
      ' {\r\n\t"id" :\t"a" ,\n "workflow_id":"w","status"  :  "S" , "created_at":"2026-01-01T00:00:00Z" } ',
    ],
    [
      'deep nesting in an ignored field',
      `{"x":${'['.repeat(100)}${']'.repeat(100)},"id":"a","workflow_id":"w","status":"S","created_at":"2026-01-01T00:00:00Z"}`,
    ],
  ])('agrees on %s', (_label, element) => {
    const doc = Buffer.from(`[${element}]`, 'utf8');
    expect(fastPath(doc).outcomes).toEqual(reference(doc));
  });

  it.each([
    ['a leading zero', '{"x":01}'],
    ['a bare minus', '{"x":-}'],
    ['a fraction without digits', '{"x":1.}'],
    ['an exponent without digits', '{"x":1e}'],
    ['a leading dot', '{"x":.5}'],
    ['a cut literal', '{"x":tru}'],
    ['a literal with a tail', '{"x":nulls}'],
    ['a raw control character', '{"x":"a\u0001"}'],
    ['a bad escape', '{"x":"\\x"}'],
    ['a short unicode escape', '{"x":"\\u12"}'],
    ['a trailing comma in an object', '{"x":1,}'],
    ['a trailing comma in an array', '{"x":[1,]}'],
    ['a missing colon', '{"x" 1}'],
    ['a single-quoted string', "{'x':1}"],
    ['mismatched brackets', '{"x":[1}]'],
    ['a comment', '{"x":1/*c*/}'],
    ['NaN', '{"x":NaN}'],
  ])('fails the stream on %s, as JSON.parse does', (_label, element) => {
    const doc = Buffer.from(`[${element}]`, 'utf8');
    expect(() => reference(doc)).toThrow();
    expect(() => fastPath(doc)).toThrow(JsonStreamError);
  });

  it('reports an element over maxElementBytes exactly as without the fast path', () => {
    fc.assert(
      fc.property(
        documentArb,
        fc.integer({ min: 2, max: 400 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 3 }),
        (doc, max, points) => {
          const cuts = points.map((p) => Math.min(p, doc.length));
          expect(streamError(doc, cuts, true, max)).toEqual(streamError(doc, cuts, false, max));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads the right workflow id when records of one layout keep spanning chunks (the carry-over buffer is reused)', () => {
    // Prepare: records laid out alike, whose workflow ids differ in one byte the interner's front cache does not
    // sample; 97-byte chunks, so most records are completed in the carry-over buffer, at the same offsets.
    const records = Array.from({ length: 2_000 }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      workflow_id: `10000000-0000-4000-8000-000000${i % 10}00000`,
      workflow_name: `W${i % 10}`,
      status: 'COMPLETED',
      created_at: '2026-11-29T11:00:00Z',
    }));
    const doc = Buffer.from(JSON.stringify(records));
    const points = Array.from({ length: Math.floor(doc.length / 97) }, (_, k) => (k + 1) * 97);

    // Act
    const { outcomes } = fastPath(doc, points);

    // Assess
    expect(outcomes).toEqual(reference(doc));
  });

  it('passes over the same elements over maxElementBytes as without the fast path, and reads the same others', () => {
    /** Each element's outcome, 'too_large' for those passed over, or the stream's error message. */
    const outcomes = (
      doc: Buffer,
      points: readonly number[],
      fast: boolean,
      max: number,
    ): (Outcome | 'too_large')[] | string => {
      const out: (Outcome | 'too_large')[] = [];
      const scanner = new JobRecordScanner((job: ScannedJob) => out.push(job.reason ?? job.toJob()), NOW_MS);
      const stream = new JsonArrayStream((raw) => out.push(toJob(raw, NOW_MS)), {
        maxElementBytes: max,
        onOversized: () => out.push('too_large'),
        ...(fast && { objectScanner: scanner }),
      });
      try {
        for (const chunk of splitAt(doc, points)) stream.write(chunk);
        stream.end();
      } catch (error) {
        if (!(error instanceof JsonStreamError)) throw error;
        return error.message;
      }
      expect(stream.elementCount).toBe(out.length);
      return out;
    };
    let passedOver = 0;
    fc.assert(
      fc.property(
        documentArb,
        fc.integer({ min: 2, max: 400 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 3 }),
        (doc, max, points) => {
          const cuts = points.map((p) => Math.min(p, doc.length));
          const expected = outcomes(doc, cuts, false, max);
          expect(outcomes(doc, cuts, true, max)).toEqual(expected);
          if (Array.isArray(expected)) passedOver += expected.filter((o) => o === 'too_large').length;
        },
      ),
      { numRuns: 500 },
    );
    expect(passedOver).toBeGreaterThan(50); // the property was exercised
  });

  it('consumes a typical compact record itself, and asks for more bytes when it is cut', () => {
    const element = Buffer.from(
      '{"id":"b2c3d4e5-6f7a-8b9c-0d1e-2f3a4b5c6d7e","workflow_id":"f0a1b2c3-4d5e-6f7a-8b9c-0d1e2f3a4b5c","workflow_name":"My ETL Workflow","status":"COMPLETED","created_at":"2026-01-01T00:00:00Z","runtime":"PT2M30S","input_file_ids":null,"output_node_files":[{"node_id":"n1","file_id":"o.json","node_type":"destination","node_subtype":"s3"}],"job_type":"ephemeral"}',
    );
    const seen: Job[] = [];
    const scanner = new JobRecordScanner((job) => seen.push(job.toJob()), NOW_MS);
    expect(scanner.scan(element, 0, element.length)).toBe(element.length);
    expect(seen).toEqual([toJob(JSON.parse(element.toString()), NOW_MS)]);
    for (let cut = 1; cut < element.length; cut++) expect(scanner.scan(element, 0, cut)).toBe(SCAN_NEED_MORE);
    expect(scanner.scan(Buffer.from('{"id":"a","id":"b"}'), 0, 19)).toBe(SCAN_DECLINE);
    expect(seen).toHaveLength(1);
  });
});

describe('collection through the fast path', () => {
  it('gives the same snapshot as the reference path, duplicates and invalid records included', () => {
    fc.assert(
      fc.property(fc.array(documentArb, { minLength: 1, maxLength: 4 }), (docs) => {
        const options = {
          nowMs: NOW_MS,
          runtimeWindowSeconds: 400 * 86_400,
          maxWorkflows: 3,
          histogramBuckets: [1, 60, 3600],
          quantiles: [0.5, 0.9, 1],
        };
        const expected = new Aggregator(options);
        const actual = new Aggregator(options);
        const scanner = new JobRecordScanner(
          (job) => (job.reason !== undefined ? actual.skip(job.reason) : actual.addScanned(job)),
          NOW_MS,
        );
        for (const doc of docs) {
          for (const outcome of reference(doc)) {
            if (typeof outcome === 'string') expected.skip(outcome);
            else expected.add(outcome);
          }
          const stream = new JsonArrayStream(
            (raw) => {
              const job = toJob(raw, NOW_MS);
              if (typeof job === 'string') actual.skip(job);
              else actual.add(job);
            },
            { objectScanner: scanner },
          );
          stream.write(doc);
          stream.end();
        }
        expect(actual.snapshot()).toEqual(expected.snapshot());
      }),
      { numRuns: 300 },
    );
  });

  it('cuts a huge workflow name to the same 200 characters on both paths, plain, escaped or not ASCII', () => {
    // Prepare: names past the interned size (ByteInterner.MAX_INTERNED_BYTES), each on two jobs of one workflow.
    const names = [
      'p'.repeat(100_000),
      `${'e\\"'.repeat(2_000)}`,
      `${'é'.repeat(150)}${'😀'.repeat(5_000)}`,
      `${'\\ud83d\\ude00'.repeat(400)}`,
    ];
    const records = names.flatMap((name, w) =>
      [0, 1].map(
        (j) =>
          `{"id":"00000000-0000-4000-8000-00000000${w}${j}00","workflow_id":"wf-${w}","workflow_name":"${name}","status":"COMPLETED","created_at":"2026-11-29T11:0${j}:00Z","runtime":"PT1S"}`,
      ),
    );
    const doc = Buffer.from(`[${records.join(',')}]`);
    const options = {
      nowMs: NOW_MS,
      runtimeWindowSeconds: 86_400,
      maxWorkflows: 10,
      histogramBuckets: [1, 60],
      quantiles: [0.5, 1],
    };
    const expected = new Aggregator(options);
    const actual = new Aggregator(options);
    const scanner = new JobRecordScanner(
      (job) => (job.reason !== undefined ? actual.skip(job.reason) : actual.addScanned(job)),
      NOW_MS,
    );

    // Act
    for (const outcome of reference(doc)) if (typeof outcome !== 'string') expected.add(outcome);
    const stream = new JsonArrayStream(() => expect.unreachable('every record is read by the fast path'), {
      objectScanner: scanner,
    });
    stream.write(doc);
    stream.end();

    // Assess
    const shown = actual.snapshot().workflows.map((w) => w.name);
    expect(shown).toEqual(expected.snapshot().workflows.map((w) => w.name));
    expect(scanner.count).toBe(records.length);
    expect(shown.map((name) => [...name].length)).toEqual([200, 200, 200, 200]);
    expect(shown.every((name) => name.endsWith('…'))).toBe(true);
  });
});

describe('IdSet', () => {
  it('agrees with a Set of strings, across merges and splits, for UUIDs in any case and other ids', () => {
    const set = new IdSet();
    const reference = new Set<string>();
    let x = 0x12345678;
    const rand = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const ids: string[] = [];
    for (let i = 0; i < 300_000; i++) {
      const roll = rand() % 100;
      let id: string;
      if (roll < 3 && ids.length > 0) id = ids[rand() % ids.length] as string;
      else if (roll < 4) id = `job-${rand() % 1000}`;
      else {
        id = uuidToString(rand() | 0, rand() | 0, rand() | 0, rand() | 0);
        if (roll < 5) id = id.toUpperCase();
      }
      ids.push(id);
      const before = reference.size;
      reference.add(id);
      expect(set.addId(id)).toBe(reference.size !== before);
    }
    expect(set.size).toBe(reference.size);
    // Every id is still found after all the merges.
    for (let i = 0; i < ids.length; i += 7) expect(set.addId(ids[i] as string)).toBe(false);
  });

  it('maps canonical lower-case UUIDs to words and back, bytes and strings alike', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.string(), (id, other) => {
        const words = new Int32Array(4);
        const fromBytes = new Int32Array(4);
        expect(uuidFromString(id, words)).toBe(true);
        expect(uuidFromBytes(Buffer.from(id), 0, fromBytes)).toBe(true);
        expect([...fromBytes]).toEqual([...words]);
        expect(uuidToString(words[0] as number, words[1] as number, words[2] as number, words[3] as number)).toBe(id);
        if (/[A-F]/.test(id.toUpperCase()))
          expect(uuidFromString(id.toUpperCase(), words)).toBe(id.toUpperCase() === id);
        if (uuidFromString(other, words))
          expect(uuidToString(words[0] as number, words[1] as number, words[2] as number, words[3] as number)).toBe(
            other,
          );
      }),
      { numRuns: 2000 },
    );
  });
});

describe('byte parsers', () => {
  const nearTimestamp = fc.oneof(
    timestamp,
    fc.string({ unit: fc.constantFrom(...'0123456789-:.TZtz+ ٦é'), minLength: 18, maxLength: 40 }),
  );
  it('parseRfc3339Bytes agrees with parseRfc3339', () => {
    fc.assert(
      fc.property(nearTimestamp, fc.string({ maxLength: 3 }), (text, pad) => {
        const bytes = Buffer.from(`${pad}${text}"`, 'utf8');
        const start = Buffer.byteLength(pad);
        const viaBytes = parseRfc3339Bytes(bytes, start, bytes.length - 1);
        // Bytes are only read for escape-free tokens; non-ASCII text fails in both (every position is checked).
        expect(viaBytes).toEqual(parseRfc3339(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('parseIsoDurationBytes agrees with parseIsoDuration', () => {
    const near = fc.oneof(duration, fc.string({ unit: fc.constantFrom(...'PTYMWDHS0123456789.,-é'), maxLength: 20 }));
    fc.assert(
      fc.property(near, (text) => {
        const bytes = Buffer.from(`"${text}"`, 'utf8');
        expect(parseIsoDurationBytes(bytes, 1, bytes.length - 1)).toEqual(parseIsoDuration(text));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('selectQuantiles', () => {
  it('gives exactly what sorting gives', () => {
    const values = fc.array(fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom(0, 1, 2, 60)), {
      maxLength: 3000,
    });
    const qs = fc
      .uniqueArray(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 })
      .map((q) => [...q, 0.5, 0.99, 1]);
    fc.assert(
      fc.property(values, qs, (list, q) => {
        expect(selectQuantiles(Float64Array.from(list), q)).toEqual(quantiles(Float64Array.from(list), q));
      }),
      { numRuns: 500 },
    );
  });
});

describe('renderPrometheus (direct writer)', () => {
  const name = fc.oneof(text, fc.constantFrom('Quote " back\\slash\nnew line', 'x"} 1\n# HELP fake', '数据 🚀', '\\n'));
  const collectionArb = fc
    .record({
      jobs: fc.array(
        fc.record({
          workflowId: fc.oneof(fc.constantFrom('wf-a', 'wf-b', 'other'), name),
          workflowName: name,
          status: fc.oneof(fc.constantFrom(...STATUSES), name),
          jobType: fc.oneof(fc.constantFrom('ephemeral', 'scheduled'), name),
          runtime: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true })),
          ageMs: fc.nat({ max: 10 * 86_400_000 }),
        }),
        { maxLength: 30 },
      ),
      maxWorkflows: fc.integer({ min: 1, max: 4 }),
      ok: fc.boolean(),
      kind: name,
      duration: fc.oneof(fc.double({ noNaN: false }), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0.25)),
      // Issue 17: the workflows API's list (off, failed, or listed workflows with hostile text everywhere).
      inventory: fc.oneof(
        fc.constant(undefined),
        fc.constant('failed' as const),
        fc.uniqueArray(
          fc.record({
            id: fc.oneof(fc.constantFrom('wf-a', 'wf-listed', 'other'), name).map((id) => wellFormed(id || 'w')),
            name,
            state: name,
            workflowType: name,
            schedule: name,
            missed: fc.option(fc.boolean(), { nil: undefined }),
            nextRunMs: fc.option(fc.integer({ min: 0, max: 4e12 }), { nil: undefined }),
            expectedRunMs: fc.option(fc.integer({ min: 0, max: 4e12 }), { nil: undefined }),
          }),
          { maxLength: 6, selector: (w) => w.id },
        ),
      ),
      // Job details (issue 16): hostile statuses and node labels, per workflow in turn.
      details: fc.option(
        fc.array(fc.record({ status: name, nodeType: name, nodeSubtype: name, success: fc.nat(), failure: fc.nat() }), {
          minLength: 1,
          maxLength: 6,
        }),
      ),
    })
    .map(({ jobs, maxWorkflows, ok, kind, duration, inventory, details }): Collection => {
      const now = Date.parse('2026-11-29T12:00:00Z');
      if (!ok) return { ok: false, errorKind: kind, errorMessage: 'x', durationSeconds: duration, finishedAtMs: now };
      const agg = new Aggregator({
        nowMs: now,
        runtimeWindowSeconds: 86_400,
        maxWorkflows,
        histogramBuckets: [1, 60.5, 3600],
        quantiles: [0.5, 0.99, 1],
      });
      jobs.forEach((j, i) =>
        agg.add({
          id: `j${i}`,
          workflowId: j.workflowId === '' ? 'w' : j.workflowId,
          workflowName: j.workflowName,
          status: j.status === '' ? 'S' : j.status,
          jobType: j.jobType === '' ? 'e' : j.jobType,
          createdAtMs: now - j.ageMs,
          runtimeSeconds: j.runtime ?? undefined,
          runtimeInvalid: false,
          runtimeLongerThanAge: false,
        }),
      );
      agg.skip('invalid_id');
      const listed = Array.isArray(inventory) ? inventory : [];
      agg.declareWorkflows(listed);
      const workflowInventory: WorkflowInventory | undefined =
        inventory === undefined
          ? undefined
          : inventory === 'failed'
            ? { ok: false, errorKind: kind, errorMessage: 'x' }
            : {
                ok: true,
                recordsSkipped: { ...noWorkflowSkips(), too_large: 2 },
                scheduleInvalid: 1,
                workflows: listed.map((w) => ({
                  ...w,
                  active: true,
                  createdAtMs: now,
                  updatedAtMs: undefined,
                  ...(agg.runsOf(w.id) ?? { lastRunMs: undefined, lastSuccessMs: undefined }),
                  scheduleProblem: undefined,
                })),
              };
      const snapshot = { ...agg.snapshot(), workflowInventory };
      if (details === null) return { ok: true, snapshot, durationSeconds: duration, finishedAtMs: now };
      const outcomes = snapshot.workflows.map((_, w) => {
        const d = details[w % details.length] as (typeof details)[number];
        return {
          byStatus: { SUCCESS: d.success, COMPLETED_WITH_ERRORS: d.failure, FAILED: 0, STOPPED: 1, [d.status]: 2 },
          nodes: [{ nodeType: d.nodeType, nodeSubtype: d.nodeSubtype, success: d.success, failure: d.failure }],
        };
      });
      const report: JobDetailsReport = {
        workflows: outcomes,
        total: { byStatus: {}, nodes: [] },
        known: 0,
        pending: details.length,
        unavailable: 0,
        publishedEarlier: 0,
        requests: 0,
        errors: details[0]?.failure ?? 0,
        failedDocuments: [],
        failedDocumentsHidden: false,
        jobs: [],
      };
      return { ok: true, snapshot, durationSeconds: duration, finishedAtMs: now, details: report };
    });

  it('writes byte for byte what prom-client wrote, Prometheus text and OpenMetrics', async () => {
    await fc.assert(
      fc.asyncProperty(collectionArb, fc.string(), fc.boolean(), async (collection, version, openMetrics) => {
        const contentType = openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
        const registry = new Registry<typeof contentType>();
        registry.setContentType(contentType);
        for (const metric of buildMetrics(collection, version))
          registry.registerMetric(metric as unknown as Parameters<typeof registry.registerMetric>[0]);
        const rendered = await renderPrometheus(collection, { version, openMetrics });
        expect(rendered.contentType).toBe(contentType);
        // Compared as what goes on the wire: UTF-8 (a lone surrogate is U+FFFD in both).
        const expected = Buffer.from(await registry.metrics(), 'utf8');
        expect(rendered.body).toBe(expected.toString('utf8'));
        expect(rendered.bytes.equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
