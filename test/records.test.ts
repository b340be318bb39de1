import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Job } from '../lib/records/job.js';
import { parseRfc3339 } from '../lib/records/rfc3339.js';
import { MAX_CLOCK_SKEW_MS } from '../lib/records/runtime-bound.js';
import { MAX_ID_LENGTH, toJob } from '../lib/records/to-job.js';
import { ByteInterner, TOKEN_ESCAPE, TOKEN_NON_ASCII } from '../lib/records/byte-interner.js';
import { DEFAULT_JOB_TYPE, KNOWN_JOB_TYPES, KNOWN_STATUSES } from '../lib/vocabulary.js';

/** The response example of shared/seeds/list-jobs.md, verbatim. */
const SAMPLE = {
  id: 'b2c3d4e5-6f7a-8b9c-0d1e-2f3a4b5c6d7e',
  workflow_id: 'f0a1b2c3-4d5e-6f7a-8b9c-0d1e2f3a4b5c',
  workflow_name: 'My ETL Workflow',
  status: 'COMPLETED',
  created_at: '2026-01-01T00:00:00Z',
  runtime: 'PT2M30S',
  input_file_ids: null,
  output_node_files: [
    {
      node_id: 'n1a2b3c4-5d6e-7f8a-9b0c-1d2e3f4a5b6c',
      file_id: 'output-001.json',
      node_type: 'destination',
      node_subtype: 's3',
    },
  ],
  job_type: 'ephemeral',
} as const;

const SAMPLE_JOB: Job = {
  id: 'b2c3d4e5-6f7a-8b9c-0d1e-2f3a4b5c6d7e',
  workflowId: 'f0a1b2c3-4d5e-6f7a-8b9c-0d1e2f3a4b5c',
  workflowName: 'My ETL Workflow',
  status: 'COMPLETED',
  jobType: 'ephemeral',
  createdAtMs: Date.UTC(2026, 0, 1),
  runtimeSeconds: 150,
  runtimeInvalid: false,
  runtimeLongerThanAge: false,
};

/** "now" of the collection reading the sample: a day after it was created. */
const NOW_MS = Date.UTC(2026, 0, 2);

/** The sample with `field` set to `value`. */
function withField(field: string, value: unknown): Record<string, unknown> {
  return { ...SAMPLE, [field]: value };
}

/** The sample without the given fields (absent, not null). */
function withoutFields(...fields: string[]): Record<string, unknown> {
  const record: Record<string, unknown> = { ...SAMPLE };
  for (const field of fields) delete record[field];
  return record;
}

/** `present` false means the field is left out entirely; true means it is set to `value`. */
function sampleWith(field: string, value: unknown, present: boolean): Record<string, unknown> {
  return present ? withField(field, value) : withoutFields(field);
}

/** toJob that must give a Job (not a skip reason). */
function jobOf(raw: unknown, nowMs = NOW_MS): Job {
  const result = toJob(raw, nowMs);
  if (typeof result === 'string') throw new Error(`expected a Job, got skip reason ${result}`);
  return result;
}

describe('toJob: the documented sample', () => {
  it('turns the list-jobs.md example into a Job', () => {
    // Act
    const job = toJob(JSON.parse(JSON.stringify(SAMPLE)), NOW_MS);

    // Assess
    expect(job).toEqual(SAMPLE_JOB);
  });

  it('ignores unknown extra fields', () => {
    // Act
    const job = toJob({ ...SAMPLE, new_field: { anything: [1, 2] }, priority: 5 }, NOW_MS);

    // Assess
    expect(job).toEqual(SAMPLE_JOB);
  });
});

describe('toJob: not an object', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'job'],
    ['a boolean', true],
    ['an empty array', []],
    ['an array holding the record', [SAMPLE]],
  ])('%s is not_an_object', (_label, raw) => {
    // Act / Assess
    expect(toJob(raw, NOW_MS)).toBe('not_an_object');
  });
});

describe('toJob: identifiers', () => {
  it.each([
    ['id', 'invalid_id'],
    ['workflow_id', 'invalid_workflow_id'],
  ] as const)('%s must be a non-empty string of at most MAX_ID_LENGTH characters', (field, reason) => {
    // Act / Assess: invalid values
    expect(toJob(withoutFields(field), NOW_MS), 'absent').toBe(reason);
    expect(toJob(withField(field, null), NOW_MS), 'null').toBe(reason);
    expect(toJob(withField(field, ''), NOW_MS), 'empty').toBe(reason);
    expect(toJob(withField(field, 42), NOW_MS), 'number').toBe(reason);
    expect(toJob(withField(field, ['x']), NOW_MS), 'array').toBe(reason);
    expect(toJob(withField(field, 'x'.repeat(MAX_ID_LENGTH + 1)), NOW_MS), 'too long').toBe(reason);
  });

  it('accepts ids up to MAX_ID_LENGTH of any shape, verbatim', () => {
    // Prepare
    const longId = 'i'.repeat(MAX_ID_LENGTH);

    // Act
    const job = jobOf({ ...SAMPLE, id: longId, workflow_id: ' not a uuid ' });

    // Assess
    expect(MAX_ID_LENGTH).toBe(256);
    expect(job.id).toBe(longId);
    expect(job.workflowId).toBe(' not a uuid ');
  });

  it('checks id before workflow_id', () => {
    // Act / Assess
    expect(toJob({ ...SAMPLE, id: null, workflow_id: null }, NOW_MS)).toBe('invalid_id');
  });
});

describe('toJob: status', () => {
  it.each([
    ['absent', undefined, false],
    ['null', null, true],
    ['empty', '', true],
    ['a number', 3, true],
    ['an object', { value: 'COMPLETED' }, true],
  ])('%s is invalid_status', (_label, value, present) => {
    // Prepare
    const raw = sampleWith('status', value, present);

    // Act / Assess
    expect(toJob(raw, NOW_MS)).toBe('invalid_status');
  });

  it.each([...KNOWN_STATUSES, 'active', 'completed', ' COMPLETED ', 'NEW_STATUS'])('keeps %j verbatim', (status) => {
    // Act / Assess
    expect(jobOf(withField('status', status)).status).toBe(status);
  });
});

describe('toJob: created_at', () => {
  it.each([
    ['absent', undefined, false],
    ['null', null, true],
    ['epoch number', 1767225600000, true],
    ['date only', '2026-01-01', true],
    ['no offset', '2026-01-01T00:00:00', true],
    ['month 13', '2026-13-01T00:00:00Z', true],
    ['empty', '', true],
  ])('%s is invalid_created_at', (_label, value, present) => {
    // Prepare
    const raw = sampleWith('created_at', value, present);

    // Act / Assess
    expect(toJob(raw, NOW_MS)).toBe('invalid_created_at');
  });

  it('converts an offset to UTC epoch milliseconds', () => {
    // Act
    const job = jobOf(withField('created_at', '2026-01-01T05:30:00.250+05:30'));

    // Assess
    expect(job.createdAtMs).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 250));
  });
});

describe('toJob: workflow_name', () => {
  it.each([
    ['absent', undefined, false],
    ['null', null, true],
    ['a number', 7, true],
    ['an array', ['name'], true],
  ])('%s falls back to the workflow id', (_label, value, present) => {
    // Prepare
    const raw = sampleWith('workflow_name', value, present);

    // Act / Assess
    expect(jobOf(raw).workflowName).toBe(SAMPLE.workflow_id);
  });

  it.each([
    ['empty', ''],
    ['quotes', 'say "hello" \'there\''],
    ['backslashes', 'C:\\path\\to\\ \\n \\"'],
    ['newlines and tabs', 'line 1\nline 2\r\n\tindented'],
    ['control characters', '\u0000\u0007\u001b[31m'],
    ['emoji and non-ASCII', '🚀 ETL für Daten — 数据 👩‍👩‍👧'],
    ['prometheus syntax', 'x"} 1\n# HELP fake'],
    ['surrounding spaces', '  padded  '],
    ['10k characters', 'ab"\\\n'.repeat(2000)],
  ])('keeps a name with %s verbatim (through JSON)', (_label, name) => {
    // Prepare: through JSON like the real response
    const raw: unknown = JSON.parse(JSON.stringify(withField('workflow_name', name)));

    // Act
    const job = jobOf(raw);

    // Assess
    expect(job.workflowName).toBe(name);
  });
});

describe('toJob: job_type', () => {
  it.each(KNOWN_JOB_TYPES)('keeps the documented type %s', (jobType) => {
    // Act / Assess
    expect(jobOf(withField('job_type', jobType)).jobType).toBe(jobType);
  });

  it('keeps an unknown non-empty type verbatim', () => {
    // Act / Assess
    expect(jobOf(withField('job_type', 'Batch Run')).jobType).toBe('Batch Run');
  });

  it.each([
    ['absent', undefined, false],
    ['null', null, true],
    ['empty', '', true],
    ['a number', 1, true],
    ['a boolean', true, true],
    ['an object', { type: 'persistent' }, true],
  ])('%s means the default type', (_label, value, present) => {
    // Prepare
    const raw = sampleWith('job_type', value, present);

    // Act
    const job = jobOf(raw);

    // Assess
    expect(DEFAULT_JOB_TYPE).toBe('ephemeral');
    expect(job.jobType).toBe('ephemeral');
  });
});

describe('toJob: runtime', () => {
  it.each([
    ['absent', undefined, false],
    ['null', null, true],
  ])('%s: no runtime, not invalid', (_label, value, present) => {
    // Prepare
    const raw = sampleWith('runtime', value, present);

    // Act
    const job = jobOf(raw);

    // Assess
    expect(job.runtimeSeconds).toBeUndefined();
    expect(job.runtimeInvalid).toBe(false);
  });

  it.each([
    ['PT2M30S', 150],
    ['PT0S', 0],
    ['PT1H2M3.456789S', 3723.456789],
    ['P1Y35D', 400 * 86_400],
  ])('%s is %d seconds', (runtime, seconds) => {
    // Act: read a year and a half after the job was created (a runtime may not end after "now")
    const job = jobOf(withField('runtime', runtime), Date.UTC(2027, 6, 1));

    // Assess
    expect(job.runtimeSeconds).toBeCloseTo(seconds, 9);
    expect(job.runtimeInvalid).toBe(false);
  });

  it.each([
    ['unparsable', 'two minutes'],
    ['negative', '-PT5S'],
    ['empty', ''],
    ['a number', 150],
    ['an object', { seconds: 150 }],
    ['a boolean', false],
  ])('%s: counted as invalid, no seconds', (_label, runtime) => {
    // Act
    const job = jobOf(withField('runtime', runtime));

    // Assess
    expect(job.runtimeSeconds).toBeUndefined();
    expect(job.runtimeInvalid).toBe(true);
  });
});

describe('toJob: a runtime longer than the job has existed', () => {
  const created = Date.UTC(2026, 0, 1);
  it.each([
    ['ends exactly at now', 'PT2M30S', created + 150_000],
    ['ends 5 minutes after now (the clock skew allowed)', 'PT2M30S', created + 150_000 - MAX_CLOCK_SKEW_MS],
    ['is zero for a job created 5 minutes ahead of now', 'PT0S', created - MAX_CLOCK_SKEW_MS],
  ])('%s: kept', (_label, runtime, nowMs) => {
    // Act
    const job = jobOf(withField('runtime', runtime), nowMs);

    // Assess
    expect(job.runtimeSeconds).toBeGreaterThanOrEqual(0);
    expect([job.runtimeInvalid, job.runtimeLongerThanAge]).toEqual([false, false]);
  });

  it.each([
    ['ends 1 ms past the clock skew', 'PT2M30S', created + 150_000 - MAX_CLOCK_SKEW_MS - 1],
    ['of 1.1 trillion years (issue 15)', 'P1100000000000Y', Date.UTC(2026, 0, 2)],
    ["of pydantic's timedelta.max", 'P2739726Y9DT23H59M59.999999S', Date.UTC(2026, 0, 2)],
    ['of 400 days for a job created a day ago', 'P1Y35D', Date.UTC(2026, 0, 2)],
    ['of zero for a job created 6 minutes ahead of now', 'PT0S', created - 6 * 60_000],
  ])('%s: counted, its runtime left out and flagged', (_label, runtime, nowMs) => {
    // Act
    const job = jobOf(withField('runtime', runtime), nowMs);

    // Assess
    expect(job.status).toBe('COMPLETED');
    expect(job.runtimeSeconds).toBeUndefined();
    expect(job.runtimeLongerThanAge).toBe(true);
    expect(job.runtimeInvalid).toBe(false); // unparsable keeps its own meaning
  });

  it('an unparsable runtime is unparsable, never longer than the age', () => {
    // Act
    const job = jobOf(withField('runtime', 'P1100000000000Yx'), Date.UTC(2026, 0, 2));

    // Assess
    expect([job.runtimeInvalid, job.runtimeLongerThanAge]).toEqual([true, false]);
  });
});

describe('toJob: ignored fields', () => {
  it.each([
    ['absent', undefined, false],
    ['null', null, true],
    ['a string', 'not-an-array', true],
    ['an array of junk', [1, { a: null }, 'x'], true],
  ])('input_file_ids and output_node_files %s do not change the job', (_label, value, present) => {
    // Prepare
    let raw = sampleWith('input_file_ids', value, present);
    raw = present ? { ...raw, output_node_files: value } : (({ output_node_files: _, ...rest }) => rest)(raw);

    // Act
    const job = toJob(raw, NOW_MS);

    // Assess
    expect(job).toEqual(SAMPLE_JOB);
  });
});

describe('parseRfc3339', () => {
  it.each([
    ['2026-01-01T00:00:00Z', Date.UTC(2026, 0, 1)],
    ['2026-01-01T00:00:00+00:00', Date.UTC(2026, 0, 1)],
    ['2026-01-01T00:00:00-00:00', Date.UTC(2026, 0, 1)],
    ['2026-01-01t00:00:00z', Date.UTC(2026, 0, 1)],
    ['2025-12-31T19:00:00-05:00', Date.UTC(2026, 0, 1)],
    ['2026-01-01T05:45:00+05:45', Date.UTC(2026, 0, 1)],
    ['2026-03-04T05:06:07.5Z', Date.UTC(2026, 2, 4, 5, 6, 7, 500)],
    ['2026-03-04T05:06:07.123456Z', Date.UTC(2026, 2, 4, 5, 6, 7, 123)],
    ['2026-03-04T05:06:07.999999999+01:00', Date.UTC(2026, 2, 4, 4, 6, 7, 999)],
    ['2024-02-29T23:59:59Z', Date.UTC(2024, 1, 29, 23, 59, 59)],
    ['2000-02-29T12:00:00Z', Date.UTC(2000, 1, 29, 12)],
    ['1970-01-01T00:00:00Z', 0],
    ['1969-12-31T23:59:59.999Z', -1],
    ['0001-01-01T00:00:00Z', -62135596800000],
    ['0000-03-01T00:00:00Z', -62162035200000],
    ['9999-12-31T23:59:59.999Z', 253402300799999],
    ['2026-01-01T00:00:00+23:59', Date.UTC(2026, 0, 1) - (23 * 60 + 59) * 60_000],
  ])('%s is %d ms', (text, ms) => {
    // Act / Assess
    expect(parseRfc3339(text)).toBe(ms);
  });

  it.each([
    ['date only', '2026-01-01'],
    ['no offset', '2026-01-01T00:00:00'],
    ['no offset with fraction', '2026-01-01T00:00:00.123'],
    ['no seconds', '2026-01-01T00:00Z'],
    ['space separator', '2026-01-01 00:00:00Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['month 00', '2026-00-01T00:00:00Z'],
    ['day 00', '2026-01-00T00:00:00Z'],
    ['day 32', '2026-01-32T00:00:00Z'],
    ['April 31', '2026-04-31T00:00:00Z'],
    ['February 29 in a common year', '2026-02-29T00:00:00Z'],
    ['February 29 in 1900', '1900-02-29T00:00:00Z'],
    ['hour 24', '2026-01-01T24:00:00Z'],
    ['minute 60', '2026-01-01T00:60:00Z'],
    ['leap second', '2016-12-31T23:59:60Z'],
    ['offset hour 24', '2026-01-01T00:00:00+24:00'],
    ['offset minute 60', '2026-01-01T00:00:00+01:60'],
    ['offset without colon', '2026-01-01T00:00:00+0100'],
    ['offset hour only', '2026-01-01T00:00:00+01'],
    ['empty fraction', '2026-01-01T00:00:00.Z'],
    ['comma fraction', '2026-01-01T00:00:00,5Z'],
    ['two-digit year', '26-01-01T00:00:00Z'],
    ['letters for the year', 'YYYY-02-01T00:00:00Z'],
    ['five-digit year', '+02026-01-01T00:00:00Z'],
    ['signed year', '-2026-01-01T00:00:00Z'],
    ['one-digit month', '2026-1-01T00:00:00Z'],
    ['slashes', '2026/01/01T00:00:00Z'],
    ['trailing text', '2026-01-01T00:00:00Zjunk'],
    ['trailing space', '2026-01-01T00:00:00Z '],
    ['leading space', ' 2026-01-01T00:00:00Z'],
    ['named zone', '2026-01-01T00:00:00 UTC'],
    ['RFC 2822', 'Thu, 01 Jan 2026 00:00:00 GMT'],
    ['epoch digits', '1767225600000000000000'],
    ['non-ASCII digit', '202٦-01-01T00:00:00Z'],
    ['empty', ''],
    ['over the length cap', `2026-01-01T00:00:00.${'1'.repeat(60)}Z`],
  ])('rejects %s: %j', (_label, text) => {
    // Act / Assess
    expect(parseRfc3339(text)).toBeNaN();
  });

  it('agrees with Date.UTC for any valid date-time, offset and fraction', () => {
    const dateTime = fc
      .record({
        year: fc.integer({ min: 1000, max: 9999 }),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 31 }),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.integer({ min: 0, max: 59 }),
        fraction: fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 9 }), {
          nil: undefined,
        }),
        offset: fc.option(
          fc.tuple(fc.constantFrom(1, -1), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })),
          { nil: undefined },
        ),
      })
      // Keep real calendar dates only: Date.UTC would roll 02-30 over into March.
      .filter(({ year, month, day }) => new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day);

    fc.assert(
      fc.property(dateTime, ({ year, month, day, hour, minute, second, fraction, offset }) => {
        // Prepare
        const pad = (n: number, width = 2) => String(n).padStart(width, '0');
        const zone = offset === undefined ? 'Z' : `${offset[0] > 0 ? '+' : '-'}${pad(offset[1])}:${pad(offset[2])}`;
        const text = `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${fraction === undefined ? '' : `.${fraction}`}${zone}`;
        const millis = fraction === undefined ? 0 : Number(fraction.padEnd(3, '0').slice(0, 3));
        const offsetMs = offset === undefined ? 0 : offset[0] * (offset[1] * 60 + offset[2]) * 60_000;
        const expected = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMs;

        // Act
        const result = parseRfc3339(text);

        // Assess
        expect(result, text).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ByteInterner', () => {
  it('keeps short values, decodes long ones each time without keeping them', () => {
    // Prepare: tokens as they sit in a body (inside the quotes).
    const interner = new ByteInterner();
    const body = (text: string) => Buffer.from(JSON.stringify(text));
    const short = body('6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a01');
    const long = body(`Long ${'é'.repeat(200)}`); // 405 bytes
    const escaped = body('tab\there');

    // Act
    const values = [short, long, escaped, short, long].map((b) =>
      interner.get(
        b,
        1,
        b.length - 1,
        b.includes(0x5c) ? TOKEN_ESCAPE : b.some((x) => x >= 0x80) ? TOKEN_NON_ASCII : 0,
      ),
    );

    // Assess: the right strings every time; the long one was never kept.
    expect(values).toEqual([
      '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a01',
      `Long ${'é'.repeat(200)}`,
      'tab\there',
      '6b1f0c52-3f7e-4d3a-9a51-1f0c2e6d9a01',
      `Long ${'é'.repeat(200)}`,
    ]);
    expect(interner.size).toBe(2);
    expect(long.length - 2).toBeGreaterThan(ByteInterner.MAX_INTERNED_BYTES);
  });
});

describe('ByteInterner: keys are its own', () => {
  it('copies the bytes of a key: a buffer reused for another token later (the stream reuses its carry-over buffer) is read afresh', () => {
    // Prepare: a token interned from a buffer that is then overwritten in place with another token that
    // differs in a byte the front cache does not sample (it picks its slot by bytes 0, n/4, n/2 and n − 1).
    const interner = new ByteInterner();
    const buffer = Buffer.from('"10000000-0000-4000-8000-000000100000"');
    const first = interner.get(buffer, 1, buffer.length - 1, 0);

    // Act: the same memory now holds the other id; then a fresh buffer holds the first id again.
    buffer.write('10000000-0000-4000-8000-000000200000', 1, 'latin1');
    const second = interner.get(buffer, 1, buffer.length - 1, 0);
    const again = Buffer.from('"10000000-0000-4000-8000-000000100000"');
    const third = interner.get(again, 1, again.length - 1, 0);

    // Assess
    expect(first).toBe('10000000-0000-4000-8000-000000100000');
    expect(second).toBe('10000000-0000-4000-8000-000000200000');
    expect(third).toBe('10000000-0000-4000-8000-000000100000');
  });
});
