/**
 * Reliability, hostile input: a property-based corpus (fast-check) of job lists mixing KNOWN VALID records with
 * hostile ones — missing or wrongly typed fields, huge strings (up to 100k characters), control characters,
 * quotes, backslashes, newlines and lone surrogates in names, statuses and job types, prototype-ish keys
 * (`__proto__`, `constructor`), unknown statuses, every malformed duration, duplicate ids — served by the fake
 * API through the real HTTP client and streaming parser into the real exporter.
 *
 * Valid and counted-hostile records live in distinct workflows, so the valid workflows' numbers must be exact;
 * skipped records (even when they name a valid workflow) and duplicates must change nothing but their skip
 * counter. Every run: no crash, unique series, every CloudWatch datum valid; 30 runs through `promtool`.
 *
 * Figures go to test/.artifacts/reliability-hostile.json (scripts/reliability-report.mjs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDatums, validateDatum, workflowDimensionValue } from '../lib/outputs/cloudwatch/datums.js';
import { DEFAULT_HISTOGRAM_BUCKETS } from '../lib/config.js';
import { createExporter } from '../lib/exporter.js';
import { Logger } from '../lib/log.js';
import {
  KNOWN_STATUSES,
  PENDING_STATUSES,
  SKIP_REASONS,
  TERMINAL_STATUSES,
  type SkipReason,
} from '../lib/vocabulary.js';
import { MAX_CLOCK_SKEW_MS } from '../lib/records/runtime-bound.js';
import { parseExposition, type Sample } from './support/exposition.js';
import { FAKE_API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';
import { promtoolCheckMetrics } from './support/promtool.js';

const NOW_MS = Date.parse('2026-11-29T12:00:00Z');
const WINDOW_SECONDS = 86_400;
const SEED = 20_261_129;
const NUM_RUNS = 60;
const PROMTOOL_RUNS = 30;

/** The valid workflows: every record in them is valid (or skipped), so their numbers are known exactly. */
const VALID_WORKFLOWS = [
  { id: '3f6c1a2e-8b4d-4e5f-9a0b-1c2d3e4f5a01', name: 'Invoices "Q4" \\ archive\nsecond line' },
  { id: '3f6c1a2e-8b4d-4e5f-9a0b-1c2d3e4f5a02', name: 'Résumés → Weaviate (Zürich) 日本語 😀' },
  { id: '3f6c1a2e-8b4d-4e5f-9a0b-1c2d3e4f5a03', name: 'plain-ingest' },
] as const;
const KNOWN_JOB_TYPES = ['ephemeral', 'persistent', 'scheduled', 'template'] as const;

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

/** What a counted record's runtime does to the statistics. */
type RuntimeEffect = { readonly seconds: number } | 'invalid' | 'none' | 'longer_than_age';
interface Runtime {
  /** undefined: the field is left out. */
  readonly value: unknown;
  readonly effect: RuntimeEffect;
}

/** Valid durations and their seconds (the README's forms and pydantic's). */
const VALID_DURATIONS: ReadonlyArray<readonly [string, number]> = [
  ['PT2M30S', 150],
  ['PT2M30.456S', 150.456],
  ['PT1H2M3.456789S', 3723.456789],
  ['P1DT2H', 93_600],
  ['PT0S', 0],
  ['PT0.5S', 0.5],
  ['P1Y35D', 34_560_000],
  ['P1W', 604_800],
  ['P2W3D', 1_468_800],
  ['PT1,5S', 1.5],
  ['PT1.5H', 5_400],
  // Valid durations no job can have run (issue 15): longer than any job's age, whatever its created_at.
  ['P1100000000000Y', 1_100_000_000_000 * 31_536_000],
  ['P2739726Y9DT23H59M59.999999S', 2_739_726 * 31_536_000 + 9 * 86_400 + 86_399.999999],
];
const MALFORMED_DURATIONS = [
  '',
  'P',
  'PT',
  'P1DT',
  'T1H',
  '-PT5S',
  '+PT5S',
  'PT-5S',
  'pt5s',
  'PT5s',
  'PT5',
  '5S',
  'P1S',
  'PT1M1H',
  'PT1H1H',
  'PT1.5H2M',
  'PT.5S',
  'PT1.S',
  'PT1e3S',
  ' PT1S',
  'PT1S ',
  'PT1S\n',
  'P\u0000T1S',
  'PT１S',
  'P1Y2Y',
  'PT∞S',
  'NaN',
  'about five minutes',
  '00:02:30',
  '150',
  `PT${'9'.repeat(400)}S`,
  `P${'T1S'.repeat(1_000)}`,
  'PT1S\uD800',
];

const validDuration: fc.Arbitrary<readonly [string, number]> = fc.oneof(
  fc.constantFrom(...VALID_DURATIONS),
  fc
    .record({ d: fc.nat(3), h: fc.nat(23), m: fc.nat(59), s: fc.nat(59) })
    .map(({ d, h, m, s }) => [`P${d}DT${h}H${m}M${s}S`, d * 86_400 + h * 3_600 + m * 60 + s] as const),
);
/** A valid duration broken in a way no parser may accept. */
const mutatedDuration = fc
  .tuple(validDuration, fc.constantFrom('sign', 'lower', 'noP', 'trailingT', 'space', 'garbage'))
  .map(([[text], how]) => {
    switch (how) {
      case 'sign':
        return `-${text}`;
      case 'lower':
        return text.toLowerCase();
      case 'noP':
        return text.slice(1);
      case 'trailingT':
        return `${text}T`;
      case 'space':
        return `${text} `;
      default:
        return `${text}X`;
    }
  });

/** Any JSON value that is not a string (NaN and ±Infinity become null in JSON). */
const nonString: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
);

const runtime: fc.Arbitrary<Runtime> = fc.oneof(
  { arbitrary: validDuration.map(([value, seconds]) => ({ value, effect: { seconds } })), weight: 4 },
  {
    arbitrary: fc.constantFrom(...MALFORMED_DURATIONS).map((value) => ({ value, effect: 'invalid' as const })),
    weight: 2,
  },
  { arbitrary: mutatedDuration.map((value) => ({ value, effect: 'invalid' as const })), weight: 1 },
  {
    arbitrary: fc
      .oneof(
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 2 }),
        fc.constant({ seconds: 5 }),
      )
      .map((value) => ({ value, effect: 'invalid' as const })),
    weight: 1,
  },
  { arbitrary: fc.constantFrom(undefined, null).map((value) => ({ value, effect: 'none' as const })), weight: 2 },
);

/** Pieces that break naive escaping, encoding or object keys. */
const NASTY = [
  '"',
  '\\',
  '\n',
  '\r',
  '\t',
  '\u0000',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u200b',
  '\uFEFF',
  '\uD800',
  '\uDFFF',
  '\uDBFF',
  '😀',
  '日本語',
  'é',
  '{',
  '}',
  '=',
  ',',
  '# HELP x',
  '\\n',
  '\\"',
  '</script>',
  '+Inf',
  'NaN',
  ' ',
  'le',
];
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'other', 'Other'];
let hugeStrings = 0;
const hostileString: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 6 })), {
        minLength: 1,
        maxLength: 6,
      })
      .map((p) => p.join('')),
    weight: 8,
  },
  { arbitrary: fc.constantFrom(...PROTOTYPE_KEYS), weight: 2 },
  {
    arbitrary: fc.tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.constantFrom(...NASTY)).map(([n, piece]) => {
      hugeStrings++;
      return `${piece}${'x'.repeat(n - 2 * piece.length)}${piece}`;
    }),
    weight: 1,
  },
);
const nonEmptyHostile = hostileString.map((s) => (s === '' ? '\u0000' : s));

/** created_at in every valid RFC 3339 form, with the exact epoch ms it stands for. */
const createdAt = fc
  .record({
    ageSeconds: fc.integer({ min: -600, max: 3 * 86_400 }), // negative: "created in the future" (clock skew)
    millis: fc.nat(999),
    offsetMinutes: fc.constantFrom(0, 120, -330, 345, 840, -720),
    form: fc.constantFrom('Z', 'z', '+00:00', 'micro'),
  })
  .map(({ ageSeconds, millis, offsetMinutes, form }) => {
    const ms = NOW_MS - ageSeconds * 1000 + millis;
    const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
    const fraction =
      form === 'micro' ? `.${String(millis).padStart(3, '0')}456` : `.${String(millis).padStart(3, '0')}`;
    const abs = Math.abs(offsetMinutes);
    const offset =
      offsetMinutes === 0
        ? form === 'z'
          ? 'z'
          : form === '+00:00'
            ? '+00:00'
            : 'Z'
        : `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return { text: `${local}${fraction}${offset}`, ms };
  });

const MALFORMED_CREATED_AT = [
  '2026-11-29T11:00:00',
  '2026-11-29 11:00:00Z',
  '2026-11-29',
  '2026-02-30T00:00:00Z',
  '2026-11-29T23:59:60Z',
  '2026-13-01T00:00:00Z',
  '2026-11-29T24:00:00Z',
  '2026-11-29T11:00:00+24:00',
  '2026-11-29T11:00:00+0200',
  '26-11-29T11:00:00Z',
  'yesterday',
  '',
  '2026-11-29T11:00:00.Z',
  '1764410400',
  ' 2026-11-29T11:00:00Z',
  `2026-11-29T11:00:00.${'1'.repeat(100)}Z`,
  '２０２６-11-29T11:00:00Z',
];
const badCreatedAt: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  nonString,
  fc.constantFrom(...MALFORMED_CREATED_AT),
  nonEmptyHostile.map((suffix) => `2026-11-29T11:00:00Z${suffix}`),
);
const badId: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  nonString,
  fc.constant(''),
  fc.integer({ min: 257, max: 5_000 }).map((n) => 'i'.repeat(n)),
);
const badStatus: fc.Arbitrary<unknown> = fc.oneof(fc.constant(undefined), nonString, fc.constant(''));

/** A generated element before ids are assigned (so ids are unique per list). */
type Template =
  | {
      readonly kind: 'valid';
      readonly wf: number;
      readonly status: string;
      readonly jobType: unknown;
      readonly created: { text: string; ms: number };
      readonly runtime: Runtime;
    }
  | {
      readonly kind: 'hostile';
      readonly wf: string;
      readonly name: unknown;
      readonly status: string;
      readonly jobType: unknown;
      readonly created: { text: string; ms: number };
      readonly runtime: Runtime;
      readonly idTail: string;
      readonly extra: Record<string, unknown>;
    }
  | {
      readonly kind: Exclude<SkipReason, 'duplicate_id' | 'too_large'>;
      readonly value: unknown;
      readonly wf: string;
      readonly created: { text: string; ms: number };
    };

/** A few hostile workflow ids per list (never one of the valid ids). */
const hostileWorkflowId = fc.oneof(
  fc.constantFrom('other', 'Other', '__proto__', 'constructor'),
  nonEmptyHostile.map((s) => `hw:${s}`.slice(0, 256)),
);

const validTemplate: fc.Arbitrary<Template> = fc.record({
  kind: fc.constant('valid' as const),
  wf: fc.nat(VALID_WORKFLOWS.length - 1),
  status: fc.constantFrom(...KNOWN_STATUSES),
  jobType: fc.constantFrom<unknown>(...KNOWN_JOB_TYPES, undefined, null, ''),
  created: createdAt,
  runtime,
});

function hostileTemplate(workflowIds: readonly string[]): fc.Arbitrary<Template> {
  return fc.record({
    kind: fc.constant('hostile' as const),
    wf: fc.constantFrom(...workflowIds),
    name: fc.oneof(hostileString, nonString, fc.constant(undefined)),
    status: fc.oneof(
      { arbitrary: nonEmptyHostile, weight: 4 },
      { arbitrary: fc.constantFrom(...KNOWN_STATUSES), weight: 1 },
    ),
    jobType: fc.oneof(hostileString, nonString, fc.constant(undefined)),
    created: createdAt,
    runtime,
    idTail: hostileString,
    // Unknown and wrongly typed extra fields must be ignored.
    extra: fc.dictionary(
      fc.oneof(
        fc.constantFrom('input_file_ids', 'output_node_files', '__proto__', 'constructor'),
        fc.string({ maxLength: 4 }),
      ),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 3 },
    ),
  });
}

/** A record that must be skipped, naming a valid or a hostile workflow. */
function skippedTemplate(workflowIds: readonly string[]): fc.Arbitrary<Template> {
  const wf = fc.constantFrom(...VALID_WORKFLOWS.map((w) => w.id), ...workflowIds);
  const notAnObject = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    hostileString,
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  );
  return fc.oneof(
    fc.record({ kind: fc.constant('not_an_object' as const), value: notAnObject, wf, created: createdAt }),
    fc.record({ kind: fc.constant('invalid_id' as const), value: badId, wf, created: createdAt }),
    fc.record({ kind: fc.constant('invalid_workflow_id' as const), value: badId, wf, created: createdAt }),
    fc.record({ kind: fc.constant('invalid_status' as const), value: badStatus, wf, created: createdAt }),
    fc.record({ kind: fc.constant('invalid_created_at' as const), value: badCreatedAt, wf, created: createdAt }),
  );
}

interface DuplicateTemplate {
  readonly pick: number;
  readonly wf: string;
  readonly name: unknown;
  readonly status: string;
  readonly jobType: unknown;
  readonly runtime: Runtime;
}

interface Corpus {
  readonly templates: readonly Template[];
  readonly duplicates: readonly DuplicateTemplate[];
}

const corpus: fc.Arbitrary<Corpus> = fc
  .uniqueArray(hostileWorkflowId, { minLength: 1, maxLength: 5 })
  .chain((workflowIds) =>
    fc.record({
      templates: fc.array(
        fc.oneof(
          { arbitrary: validTemplate, weight: 4 },
          { arbitrary: hostileTemplate(workflowIds), weight: 3 },
          { arbitrary: skippedTemplate(workflowIds), weight: 3 },
        ),
        { minLength: 1, maxLength: 150, size: 'large' },
      ),
      duplicates: fc.array(
        fc.record({
          pick: fc.nat(),
          wf: fc.constantFrom(...VALID_WORKFLOWS.map((w) => w.id), ...workflowIds),
          name: hostileString,
          status: fc.oneof(fc.constantFrom(...KNOWN_STATUSES), nonEmptyHostile),
          jobType: fc.oneof(hostileString, fc.constantFrom(...KNOWN_JOB_TYPES)),
          runtime,
        }),
        { maxLength: 8 },
      ),
    }),
  );

// ---------------------------------------------------------------------------------------------------------
// The list and what it must produce

/** One counted record, as the oracle sees it. */
interface Counted {
  readonly id: string;
  readonly wf: string;
  readonly valid: boolean;
  readonly status: string;
  readonly jobType: string;
  readonly createdMs: number;
  readonly runtime: RuntimeEffect;
}

interface Built {
  readonly list: unknown[];
  readonly counted: Counted[];
  readonly skipped: Record<SkipReason, number>;
  readonly kinds: Record<string, number>;
}

function build(c: Corpus): Built {
  const list: unknown[] = [];
  const counted: Counted[] = [];
  const skipped = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>;
  const kinds: Record<string, number> = {};
  const note = (kind: string) => (kinds[kind] = (kinds[kind] ?? 0) + 1);
  const withRuntime = (record: Record<string, unknown>, r: Runtime) =>
    r.value === undefined ? record : { ...record, runtime: r.value };
  const withJobType = (record: Record<string, unknown>, t: unknown) =>
    t === undefined ? record : { ...record, job_type: t };
  // A valid duration ending more than the clock skew after now is no runtime of that job (records/runtime-bound.ts).
  const effectOf = (r: Runtime, createdMs: number): RuntimeEffect =>
    typeof r.effect === 'object' && createdMs + r.effect.seconds * 1000 > NOW_MS + MAX_CLOCK_SKEW_MS
      ? 'longer_than_age'
      : r.effect;
  c.templates.forEach((t, n) => {
    if (t.kind === 'valid') {
      const wf = VALID_WORKFLOWS[t.wf] as (typeof VALID_WORKFLOWS)[number];
      const id = `valid-${n}`;
      list.push(
        withRuntime(
          withJobType(
            { id, workflow_id: wf.id, workflow_name: wf.name, status: t.status, created_at: t.created.text },
            t.jobType,
          ),
          t.runtime,
        ),
      );
      const effect = effectOf(t.runtime, t.created.ms);
      counted.push({
        id,
        wf: wf.id,
        valid: true,
        status: t.status,
        jobType: typeof t.jobType === 'string' && t.jobType !== '' ? t.jobType : 'ephemeral',
        createdMs: t.created.ms,
        runtime: effect,
      });
      note('valid');
      note(`runtime:${typeof effect === 'string' ? effect : 'valid'}`);
    } else if (t.kind === 'hostile') {
      const id = `h${n}:${t.idTail}`.slice(0, 256);
      const record: Record<string, unknown> = {
        ...t.extra,
        id,
        workflow_id: t.wf,
        status: t.status,
        created_at: t.created.text,
      };
      if (t.name !== undefined) record.workflow_name = t.name;
      list.push(withRuntime(withJobType(record, t.jobType), t.runtime));
      const effect = effectOf(t.runtime, t.created.ms);
      counted.push({
        id,
        wf: t.wf,
        valid: false,
        status: t.status,
        jobType: 'n/a',
        createdMs: t.created.ms,
        runtime: effect,
      });
      note('counted_hostile');
      note(`runtime:${typeof effect === 'string' ? effect : 'valid'}`);
    } else {
      // Skipped: a record complete but for one field (the fields checked before it are valid).
      const base: Record<string, unknown> = {
        id: `s${n}`,
        workflow_id: t.wf,
        workflow_name: 'Skipped, never shown',
        status: 'FAILED',
        created_at: t.created.text,
        runtime: 'PT1S',
      };
      const field = {
        invalid_id: 'id',
        invalid_workflow_id: 'workflow_id',
        invalid_status: 'status',
        invalid_created_at: 'created_at',
      } as const;
      let record: unknown;
      if (t.kind === 'not_an_object') record = t.value;
      else {
        const { [field[t.kind]]: _dropped, ...rest } = base;
        record = t.value === undefined ? rest : { ...rest, [field[t.kind]]: t.value };
      }
      list.push(record);
      skipped[t.kind]++;
      note(t.kind);
    }
  });
  // Duplicates come last (the first occurrence is the one counted): another workflow, status, name and
  // job type, and the newest created_at — none of which may show.
  if (counted.length > 0) {
    for (const d of c.duplicates) {
      const original = counted[d.pick % counted.length] as Counted;
      list.push(
        withRuntime(
          {
            id: original.id,
            workflow_id: d.wf,
            workflow_name: d.name,
            status: d.status,
            created_at: new Date(NOW_MS).toISOString(),
            job_type: d.jobType,
          },
          d.runtime,
        ),
      );
      skipped.duplicate_id++;
      note('duplicate_id');
    }
  }
  return { list, counted, skipped, kinds };
}

function seriesKey(s: Sample): string {
  return `${s.name}${JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
}

function datumKey(d: MetricDatum): string {
  return `${d.MetricName}${JSON.stringify((d.Dimensions ?? []).map((x) => [x.Name, x.Value]).sort())}`;
}

// ---------------------------------------------------------------------------------------------------------

const totals = {
  runs: 0,
  promtoolRuns: 0,
  records: 0,
  maxBodyBytes: 0,
  kinds: {} as Record<string, number>,
  tests: {} as Record<string, boolean>,
};
/** Marks a test passed in the artifact (false until its last assertion passed). */
async function outcome(name: string, body: () => Promise<void>): Promise<void> {
  totals.tests[name] = false;
  await body();
  totals.tests[name] = true;
}
let api: FakeApi;

beforeAll(async () => {
  api = await startFakeApi();
});

afterAll(async () => {
  await api?.close();
  mkdirSync(new URL('./.artifacts/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./.artifacts/reliability-hostile.json', import.meta.url),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), seed: SEED, numRuns: NUM_RUNS, ...totals, hugeStrings }, null, 2)}\n`,
  );
});

/** Serves the list through the fake API into a fresh exporter and checks every promise of the contract. */
async function check(built: Built, options: { promtool: boolean; maxWorkflows?: number }): Promise<void> {
  // Prepare
  api.setJobs(built.list as object[]);
  const logs: string[] = [];
  const exporter = createExporter({
    env: {
      UNSTRUCTURED_API_URL: api.url,
      UNSTRUCTURED_API_KEY: FAKE_API_KEY,
      MAX_WORKFLOWS: String(options.maxWorkflows ?? 100_000),
      RUNTIME_WINDOW: `${WINDOW_SECONDS}s`,
      REQUEST_TIMEOUT: '10s',
      PULL_DEADLINE: '20s',
    },
    logger: new Logger({ write: (line) => logs.push(line) }),
    now: () => NOW_MS,
  });

  // Act
  const response = await exporter.app.handle({ method: 'GET', path: '/metrics', headers: {} });
  const collection = await exporter.cache.get();
  const exposition = response.body.toString('utf8');
  const samples = parseExposition(exposition);
  const datums = renderDatums(collection, { quantiles: exporter.config.quantiles });

  // Assess: the pull succeeded (bad records never fail it) and the output is well formed.
  totals.runs++;
  totals.records += built.list.length;
  for (const [k, n] of Object.entries(built.kinds)) totals.kinds[k] = (totals.kinds[k] ?? 0) + n;
  const bodyBytes = Buffer.byteLength(JSON.stringify(built.list));
  totals.maxBodyBytes = Math.max(totals.maxBodyBytes, bodyBytes);
  expect(response.status).toBe(200);
  if (!collection.ok) throw new Error(`the pull failed: ${collection.errorMessage}`);
  const keys = samples.map(seriesKey);
  expect(keys.length - new Set(keys).size, 'duplicate series in the exposition').toBe(0);
  if (options.promtool) {
    totals.promtoolRuns++;
    expect(promtoolCheckMetrics(exposition)).toEqual({ status: 0, output: '' });
  }
  const datumProblems = datums.flatMap((d) => validateDatum(d, NOW_MS).map((p) => `${d.MetricName}: ${p}`));
  expect(datumProblems).toEqual([]);
  const datumKeys = datums.map(datumKey);
  expect(datumKeys.length - new Set(datumKeys).size, 'datums sharing a metric and dimension set').toBe(0);

  // Assess: the record accounting — what was fetched, skipped (by reason), counted, unparsable.
  const one = (name: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  const countedOnce = built.counted;
  expect(one('unstructured_up')).toBe(1);
  expect(one('unstructured_jobs_fetched')).toBe(built.list.length);
  expect(
    Object.fromEntries(SKIP_REASONS.map((r) => [r, one('unstructured_job_records_skipped', { reason: r })])),
  ).toEqual(built.skipped);
  expect(one('unstructured_job_runtime_unparsable')).toBe(countedOnce.filter((j) => j.runtime === 'invalid').length);
  expect(one('unstructured_job_runtime_longer_than_age')).toBe(
    countedOnce.filter((j) => j.runtime === 'longer_than_age').length,
  );
  // Workflow ids are labels: ids differing only by lone surrogates are one workflow (U+FFFD in UTF-8).
  expect(one('unstructured_workflows')).toBe(
    new Set(countedOnce.map((j) => j.wf.replace(/[\uD800-\uDFFF]/gu, '\uFFFD'))).size,
  );
  // Nothing lost: every counted record is in exactly one unstructured_jobs series, and in the CloudWatch totals.
  const jobsTotal = samples.filter((s) => s.name === 'unstructured_jobs').reduce((sum, s) => sum + s.value, 0);
  expect(jobsTotal).toBe(countedOnce.length);
  const cwTotal = datums
    .filter((d) => d.MetricName === 'Jobs' && d.Dimensions?.length === 1)
    .reduce((sum, d) => sum + (d.Value as number), 0);
  expect(cwTotal).toBe(countedOnce.length);

  // Assess: each valid workflow's numbers, exactly.
  for (const wf of VALID_WORKFLOWS) {
    const mine = countedOnce.filter((j) => j.valid && j.wf === wf.id);
    const series = samples.filter((s) => s.labels.workflow_id === wf.id);
    if (mine.length === 0) {
      expect(series, `no series for ${wf.id}, which had no valid record`).toEqual([]);
      continue;
    }
    for (const s of series) expect(s.labels.workflow_name).toBe(wf.name);
    // unstructured_jobs: every job type seen × every known status.
    const expectedJobs: Record<string, number> = {};
    for (const jobType of new Set(mine.map((j) => j.jobType))) {
      for (const status of KNOWN_STATUSES)
        expectedJobs[`${jobType}/${status}`] = mine.filter((j) => j.jobType === jobType && j.status === status).length;
    }
    const actualJobs = Object.fromEntries(
      series
        .filter((s) => s.name === 'unstructured_jobs')
        .map((s) => [`${s.labels.job_type}/${s.labels.status}`, s.value]),
    );
    expect(actualJobs).toEqual(expectedJobs);
    for (const status of TERMINAL_STATUSES) {
      const runtimes = mine
        .filter((j) => j.status === status && typeof j.runtime === 'object')
        .map((j) => (j.runtime as { seconds: number }).seconds);
      const labels = { workflow_id: wf.id, status };
      expect(one('unstructured_job_runtime_seconds_count', labels)).toBe(runtimes.length);
      expect(one('unstructured_job_runtime_seconds_sum', labels)).toBeCloseTo(
        runtimes.reduce((a, b) => a + b, 0),
        6,
      );
      for (const le of DEFAULT_HISTOGRAM_BUCKETS) {
        expect(one('unstructured_job_runtime_seconds_bucket', { ...labels, le: String(le) })).toBe(
          runtimes.filter((r) => r <= le).length,
        );
      }
      const recent = mine.filter(
        (j) =>
          j.status === status &&
          typeof j.runtime === 'object' &&
          j.createdMs + (j.runtime as { seconds: number }).seconds * 1000 >= NOW_MS - WINDOW_SECONDS * 1000,
      );
      expect(one('unstructured_job_runtime_recent_seconds_count', labels)).toBe(recent.length);
    }
    for (const status of PENDING_STATUSES) {
      const created = mine.filter((j) => j.status === status).map((j) => j.createdMs);
      const age = created.length === 0 ? 0 : Math.max(0, (NOW_MS - Math.min(...created)) / 1000);
      expect(one('unstructured_job_oldest_age_seconds', { workflow_id: wf.id, status })).toBe(age);
    }
    // CloudWatch: the same counts under the workflow's dimension.
    const dimension = workflowDimensionValue(wf.id, wf.name);
    const cw = Object.fromEntries(
      datums
        .filter(
          (d) => d.MetricName === 'Jobs' && d.Dimensions?.some((x) => x.Name === 'Workflow' && x.Value === dimension),
        )
        .map((d) => [d.Dimensions?.find((x) => x.Name === 'Status')?.Value, d.Value]),
    );
    expect(cw).toEqual(Object.fromEntries(KNOWN_STATUSES.map((s) => [s, mine.filter((j) => j.status === s).length])));
  }
}

describe('hostile records never crash the exporter nor change the numbers of valid ones', () => {
  it('holds for a generated corpus, served over HTTP through the streaming parser', { timeout: 90_000 }, async () => {
    // Prepare
    let runs = 0;
    const property = fc.asyncProperty(corpus, async (c) => {
      // Act + Assess
      await check(build(c), { promtool: runs++ < PROMTOOL_RUNS });
    });

    // Act + Assess
    await outcome(`generated corpus, ${NUM_RUNS} runs`, () => fc.assert(property, { numRuns: NUM_RUNS, seed: SEED }));
  });

  it('keeps a valid job type when hostile records already used up the unknown job-type slots', async () => {
    // Prepare: 25 distinct junk job types in a hostile workflow, then valid records of every known type.
    const created = { text: '2026-11-29T11:00:00Z', ms: Date.parse('2026-11-29T11:00:00Z') };
    const none: Runtime = { value: undefined, effect: 'none' };
    const templates: Template[] = [
      ...Array.from(
        { length: 25 },
        (_, i): Template => ({
          kind: 'hostile',
          wf: 'hw:junk',
          name: 'junk',
          status: 'COMPLETED',
          jobType: `junk-${i}`,
          created,
          runtime: none,
          idTail: '',
          extra: {},
        }),
      ),
      ...KNOWN_JOB_TYPES.map(
        (jobType, i): Template => ({
          kind: 'valid',
          wf: i % VALID_WORKFLOWS.length,
          status: 'FAILED',
          jobType,
          created,
          runtime: none,
        }),
      ),
    ];

    // Act + Assess
    await outcome('a valid job type is never folded into "other" by junk job types', () =>
      check(build({ templates, duplicates: [] }), { promtool: true }),
    );
  });

  it('counts statuses and job types named like Object.prototype members', async () => {
    // Prepare
    const created = { text: '2026-11-29T11:00:00Z', ms: Date.parse('2026-11-29T11:00:00Z') };
    const none: Runtime = { value: undefined, effect: 'none' };
    const templates: Template[] = PROTOTYPE_KEYS.flatMap((key, i): Template[] => [
      {
        kind: 'hostile',
        wf: 'hw:proto',
        name: key,
        status: key,
        jobType: key,
        created,
        runtime: none,
        idTail: `${i}a`,
        extra: {},
      },
      {
        kind: 'hostile',
        wf: key,
        name: key,
        status: 'SCHEDULED',
        jobType: key,
        created,
        runtime: none,
        idTail: `${i}b`,
        extra: {},
      },
    ]);
    templates.push({
      kind: 'valid',
      wf: 0,
      status: 'COMPLETED',
      jobType: 'persistent',
      created,
      runtime: { value: 'PT1S', effect: { seconds: 1 } },
    });

    // Act + Assess
    await outcome('statuses and job types named __proto__, constructor, toString … are counted', () =>
      check(build({ templates, duplicates: [] }), { promtool: true }),
    );
  });

  it('keeps series unique when a workflow whose id is literally "other" meets the MAX_WORKFLOWS fold', async () => {
    // Prepare: the busiest workflow is called "other" (no name: shown as "other"), and small ones are folded.
    const created = { text: '2026-11-29T11:00:00Z', ms: Date.parse('2026-11-29T11:00:00Z') };
    const none: Runtime = { value: undefined, effect: 'none' };
    const hostile = (wf: string, n: number): Template[] =>
      Array.from(
        { length: n },
        (_, i): Template => ({
          kind: 'hostile',
          wf,
          name: undefined,
          status: 'FAILED',
          jobType: undefined,
          created,
          runtime: none,
          idTail: `${wf}${i}`,
          extra: {},
        }),
      );
    const templates: Template[] = [
      ...hostile('other', 10),
      ...VALID_WORKFLOWS.flatMap((_, wf) =>
        KNOWN_STATUSES.map(
          (status): Template => ({
            kind: 'valid',
            wf,
            status,
            jobType: 'persistent',
            created,
            runtime: { value: 'PT1M', effect: { seconds: 60 } },
          }),
        ),
      ),
      ...hostile('hw:a', 2),
      ...hostile('hw:b', 1),
      ...hostile('hw:c', 1),
    ];

    // Act + Assess
    await outcome('a workflow with the id "other" next to the folded rest gives unique series', () =>
      check(build({ templates, duplicates: [] }), { promtool: true, maxWorkflows: VALID_WORKFLOWS.length + 1 }),
    );
  });

  it('keeps series unique when workflow ids, statuses and job types differ only by a lone surrogate', async () => {
    // Prepare: these render to the same UTF-8 (each lone surrogate becomes U+FFFD).
    const created = { text: '2026-11-29T11:00:00Z', ms: Date.parse('2026-11-29T11:00:00Z') };
    const none: Runtime = { value: undefined, effect: 'none' };
    const templates: Template[] = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF'].map(
      (s, i): Template => ({
        kind: 'hostile',
        wf: `hw:${s}`,
        name: `name ${s}`,
        status: `S${s}`,
        jobType: `T${s}`,
        created,
        runtime: none,
        idTail: String(i),
        extra: {},
      }),
    );
    templates.push({ kind: 'valid', wf: 1, status: 'SCHEDULED', jobType: undefined, created, runtime: none });

    // Act + Assess
    await outcome('ids, statuses and job types differing only by a lone surrogate give unique series', () =>
      check(build({ templates, duplicates: [] }), { promtool: true }),
    );
  });
});
