/**
 * Deterministic generator of a realistic Unstructured `GET /api/v1/jobs/` body (JobInformation records,
 * FastAPI's compact JSON with raw UTF-8), for the benchmark.
 *
 * - Zipf-distributed workflows (200 by default), some renamed over time, with hostile names: quotes,
 *   backslashes, newlines, control characters, emoji, CJK, RTL, HTML, Prometheus syntax, \u escapes, empty.
 * - Mixed statuses (with a legacy `active`), job types (absent = default), every pydantic duration form
 *   (`PT2M30.456S`, `P1DT2H`, `PT0S`, `P1Y35D` …), null/absent runtime, input_file_ids, output_node_files.
 * - A few records the exporter must skip (bad id, no status, bad created_at), duplicate ids, unparsable
 *   runtimes (`-PT5S`, a number).
 *
 * The elements are produced in chunks into one Buffer (`[` and `]` excluded) with the start offset of each
 * element, so a server can send any prefix of N jobs as a complete array.
 */

/** sfc32: small, fast, good enough for synthetic data, and fully deterministic. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A random (version 4) UUID, lower-case, canonical form. */
export function uuid(r: Random): string {
  const a = r.u32();
  const b = ((r.u32() & 0xffff0fff) | 0x00004000) >>> 0;
  const c = ((r.u32() & 0x3fffffff) | 0x80000000) >>> 0;
  const d = r.u32();
  const h = (x: number, shift: number) => HEX[(x >>> shift) & 0xff] as string;
  return (
    h(a, 24) +
    h(a, 16) +
    h(a, 8) +
    h(a, 0) +
    '-' +
    h(b, 24) +
    h(b, 16) +
    '-' +
    h(b, 8) +
    h(b, 0) +
    '-' +
    h(c, 24) +
    h(c, 16) +
    '-' +
    h(c, 8) +
    h(c, 0) +
    h(d, 24) +
    h(d, 16) +
    h(d, 8) +
    h(d, 0)
  );
}

/** Seconds the way pydantic v2 writes a timedelta: `PT2M30.456S`, `P1DT2H`, `PT0S`, `P1Y35D`. */
export function pydanticDuration(totalSeconds: number): string {
  let micros = Math.round(totalSeconds * 1e6);
  if (micros === 0) return 'PT0S';
  const days = Math.floor(micros / 86_400e6);
  micros -= days * 86_400e6;
  const years = Math.floor(days / 365);
  const restDays = days - years * 365;
  const hours = Math.floor(micros / 3600e6);
  micros -= hours * 3600e6;
  const minutes = Math.floor(micros / 60e6);
  micros -= minutes * 60e6;
  const seconds = Math.floor(micros / 1e6);
  micros -= seconds * 1e6;
  let out = 'P';
  if (years > 0) out += `${years}Y`;
  if (restDays > 0) out += `${restDays}D`;
  if (hours > 0 || minutes > 0 || seconds > 0 || micros > 0) {
    out += 'T';
    if (hours > 0) out += `${hours}H`;
    if (minutes > 0) out += `${minutes}M`;
    if (seconds > 0 || micros > 0) {
      out += micros > 0 ? `${seconds}.${String(micros).padStart(6, '0').replace(/0+$/, '')}S` : `${seconds}S`;
    }
  }
  return out;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** pydantic's datetime forms: `…T10:11:12.345678Z`, `…+00:00`, whole seconds. */
function timestamp(ms: number, r: Random): string {
  const d = new Date(ms);
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const roll = r.next();
  const micros = pad(d.getUTCMilliseconds() * 1000 + r.int(1000), 6);
  if (roll < 0.7) return `${base}.${micros}Z`;
  if (roll < 0.9) return `${base}.${micros}+00:00`;
  if (roll < 0.97) return `${base}Z`;
  // A non-UTC offset: the same instant written in another zone.
  const shifted = new Date(ms + 2 * 3_600_000);
  return `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}T${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${pad(shifted.getUTCSeconds())}.${micros}+02:00`;
}

/** Hostile and ordinary workflow names, as JSON tokens (one uses \u escapes, like ensure_ascii output). */
const HOSTILE_NAMES: readonly string[] = [
  JSON.stringify('Ingest "quoted" docs'),
  JSON.stringify('C:\\data\\in\\ backslashes \\n'),
  JSON.stringify('multi\nline\r\nname\twith tab'),
  JSON.stringify('Émile café — Zürich'),
  JSON.stringify('数据 pipeline 🚀'),
  JSON.stringify('</script><b>bold</b>'),
  JSON.stringify('x"} 1\n# HELP fake_metric injected'),
  JSON.stringify(''),
  JSON.stringify(`Very long name ${'lorem ipsum '.repeat(25)}`),
  JSON.stringify('\u0001\u0007\u001b[31mcontrol'),
  JSON.stringify('family 👩‍👩‍👧 zwj'),
  JSON.stringify('مرحبا بالعالم'),
  '"Caf\\u00e9 \\u6570\\u636e \\ud83d\\ude80 escaped"',
  JSON.stringify('  padded  '),
];

const DESTINATIONS = [
  's3',
  'azure',
  'gcs',
  'postgres',
  'mongodb',
  'pinecone',
  'elasticsearch',
  'databricks_volumes',
] as const;

interface Workflow {
  readonly id: string;
  /** JSON token of the current name. */
  readonly name: string;
  /** JSON token of the name before a rename, and when it changed (jobs older than that carry it). */
  readonly oldName: string | undefined;
  readonly renamedAtMs: number;
  readonly medianRuntimeS: number;
  readonly failRate: number;
  readonly destination: string;
  readonly jobTypes: readonly (string | undefined)[];
}

export interface GenerateOptions {
  readonly jobs: number;
  readonly workflows?: number;
  readonly seed?: number;
  /** The "now" the created_at values lead up to. */
  readonly nowMs: number;
  /** created_at is spread over this many days before now. */
  readonly historyDays?: number;
}

export interface Dataset {
  /** Elements separated by `,`, without the enclosing brackets. */
  readonly elements: Buffer;
  /** offsets[i] is where element i starts; offsets[jobs] is elements.length + 1 (as if a `,` followed). */
  readonly offsets: Float64Array;
  readonly jobs: number;
}

/** The body of the first `count` jobs as a complete JSON array. */
export function arrayBody(dataset: Dataset, count: number): Buffer[] {
  const end = (dataset.offsets[count] as number) - 1;
  return count === 0 ? [Buffer.from('[]')] : [Buffer.from('['), dataset.elements.subarray(0, end), Buffer.from(']')];
}

export function generate(options: GenerateOptions): Dataset {
  const r = new Random(options.seed ?? 20261129);
  const workflowCount = options.workflows ?? 200;
  const historyMs = (options.historyDays ?? 30) * 86_400_000;
  const now = options.nowMs;

  const workflows: Workflow[] = [];
  for (let w = 0; w < workflowCount; w++) {
    const hostile = w % 7 === 3 ? HOSTILE_NAMES[((w / 7) | 0) % HOSTILE_NAMES.length] : undefined;
    const name =
      hostile ??
      JSON.stringify(
        `${r.pick(['Daily', 'Hourly', 'Nightly', 'Weekly', 'Ad-hoc'])} ${r.pick(['ETL', 'ingest', 'sync', 'partition', 'embed'])} #${w} to ${r.pick(DESTINATIONS)}`,
      );
    // Two workflows share a name; a few were renamed.
    const renamed = r.next() < 0.1;
    workflows.push({
      id: uuid(r),
      name: w === 5 ? (workflows[0] as Workflow).name : name,
      oldName: renamed ? JSON.stringify(`old name of #${w}`) : undefined,
      renamedAtMs: now - r.next() * historyMs,
      medianRuntimeS: 20 + r.next() * 600,
      failRate: r.next() * 0.15,
      destination: r.pick(DESTINATIONS),
      jobTypes: r.pick([
        ['ephemeral'],
        ['persistent'],
        ['scheduled', 'scheduled', 'ephemeral'],
        [undefined, 'ephemeral'],
        ['template', 'ephemeral'],
      ]),
    });
  }
  // Zipf (s = 1) over the workflows: cumulative weights for a binary search.
  const cumulative = new Float64Array(workflowCount);
  let sum = 0;
  for (let w = 0; w < workflowCount; w++) cumulative[w] = sum += 1 / (w + 1);
  const pickWorkflow = (): Workflow => {
    const x = r.next() * sum;
    let lo = 0;
    let hi = workflowCount - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) >= x) hi = mid;
      else lo = mid + 1;
    }
    return workflows[lo] as Workflow;
  };

  const chunks: Buffer[] = [];
  const offsets = new Float64Array(options.jobs + 1);
  let position = 0;
  let text = '';
  const recentIds: string[] = [];
  for (let i = 0; i < options.jobs; i++) {
    const wf = pickWorkflow();
    const createdMs = now - Math.floor(r.next() * historyMs);
    // Duplicate ids (the list is read while it changes): reuse an id seen recently.
    const id = recentIds.length > 0 && r.next() < 0.001 ? r.pick(recentIds) : uuid(r);
    if (i % 97 === 0) {
      if (recentIds.length >= 64) recentIds.shift();
      recentIds.push(id);
    }

    // Older jobs are terminal; the last hour holds the scheduled and running ones.
    const ageMs = now - createdMs;
    let status: string;
    const roll = r.next();
    if (ageMs < 3_600_000 && roll < 0.3) status = roll < 0.1 ? 'SCHEDULED' : 'IN_PROGRESS';
    else if (roll < wf.failRate) status = 'FAILED';
    else if (roll < wf.failRate + 0.03) status = 'STOPPED';
    else if (roll < wf.failRate + 0.035) status = 'active';
    else status = 'COMPLETED';
    const terminal = status === 'COMPLETED' || status === 'FAILED' || status === 'STOPPED';

    let runtime: string | undefined;
    if (terminal) {
      const rr = r.next();
      if (rr < 0.0005) runtime = '"-PT5S"';
      else if (rr < 0.0008) runtime = '150';
      else if (rr < 0.001) runtime = '"two minutes"';
      else if (rr < 0.0015) runtime = '"P1Y35D"';
      else if (rr < 0.003) runtime = '"PT0S"';
      else if (rr < 0.005) runtime = 'null';
      else
        runtime = `"${pydanticDuration(Math.min(wf.medianRuntimeS * Math.exp(0.9 * r.normal()), 3 * 86_400) + (rr < 0.5 ? 0 : r.int(1_000_000) / 1e6))}"`;
    } else runtime = r.next() < 0.5 ? 'null' : undefined;

    const name = wf.oldName !== undefined && createdMs < wf.renamedAtMs ? wf.oldName : wf.name;
    const jobType = r.pick(wf.jobTypes);
    const nInputs = r.next() < 0.25 ? -1 : r.int(3);
    let inputs = '';
    for (let k = 0; k < nInputs; k++) inputs += `${k === 0 ? '"' : ',"'}${uuid(r)}"`;
    const nOutputs = r.next() < 0.2 ? -1 : 1 + (r.next() < 0.2 ? 1 : 0);
    let outputs = '';
    for (let k = 0; k < nOutputs; k++) {
      outputs += `${k === 0 ? '' : ','}{"node_id":"${uuid(r)}","file_id":"${r.next() < 0.5 ? `output-${pad(r.int(1000), 3)}.json` : `reports/2026/${r.int(100)}.pdf`}","node_type":"destination","node_subtype":"${wf.destination}"}`;
    }

    let record = '{';
    const skip = r.next();
    if (skip < 0.0002) record += '"id":null,';
    else record += `"id":"${id}",`;
    record += `"workflow_id":"${wf.id}",`;
    if (r.next() < 0.001) record += '"workflow_name":null,';
    else record += `"workflow_name":${name},`;
    if (!(skip >= 0.0002 && skip < 0.0004)) record += `"status":"${status}",`;
    record += `"created_at":"${skip >= 0.0004 && skip < 0.0006 ? '2026-13-01T00:00:00Z' : timestamp(createdMs, r)}"`;
    if (runtime !== undefined) record += `,"runtime":${runtime}`;
    if (nInputs >= 0) record += `,"input_file_ids":[${inputs}]`;
    else if (r.next() < 0.8) record += ',"input_file_ids":null';
    if (nOutputs >= 0) record += `,"output_node_files":[${outputs}]`;
    else if (r.next() < 0.8) record += ',"output_node_files":null';
    if (jobType !== undefined) record += `,"job_type":"${jobType}"`;
    record += '}';

    offsets[i] = position;
    if (i > 0) text += ',';
    text += record;
    position += Buffer.byteLength(record) + 1;
    if (text.length > 4_000_000) {
      chunks.push(Buffer.from(text));
      text = '';
    }
  }
  offsets[options.jobs] = position;
  chunks.push(Buffer.from(text));
  const elements = Buffer.concat(chunks);
  if (options.jobs > 0 && elements.length + 1 !== position) throw new Error('generator offsets are off');
  return { elements, offsets, jobs: options.jobs };
}
