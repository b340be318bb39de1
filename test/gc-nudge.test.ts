/**
 * The minor-collection nudge (lib/pull/gc-nudge.ts) in a fresh Node process started without --expose-gc, as
 * Lambda and `npm start` run the exporter: it must really collect, and leave the program's globals alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uje-gc-nudge-'));
  await build({
    entryPoints: [join(ROOT, 'lib/pull/gc-nudge.ts')],
    outfile: join(dir, 'gc-nudge.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  });
  // Counts the minor collections the performance timeline reports around five nudges. Nothing is
  // allocated in between, so a scavenge the engine would run anyway is not plausible there.
  writeFileSync(
    join(dir, 'probe.mjs'),
    `import { PerformanceObserver, constants } from 'node:perf_hooks';
import { loadMinorGc } from './gc-nudge.mjs';
const kinds = [];
const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) kinds.push(e.detail.kind); });
observer.observe({ entryTypes: ['gc'] });
const exposedBefore = typeof globalThis.gc;
const nudge = await loadMinorGc();
const sameFunction = (await loadMinorGc()) === nudge;
await new Promise((r) => setTimeout(r, 50));
const before = kinds.filter((k) => k === constants.NODE_PERFORMANCE_GC_MINOR).length;
for (let i = 0; i < 5; i++) nudge();
await new Promise((r) => setTimeout(r, 50));
const after = kinds.filter((k) => k === constants.NODE_PERFORMANCE_GC_MINOR).length;
observer.disconnect();
console.log(JSON.stringify({ exposedBefore, exposedAfter: typeof globalThis.gc, sameFunction, minor: after - before }));
`,
  );
  // The young generation's size after a workload whose scavenges keep ~20k objects alive each time (enough
  // survivors for V8 to grow it several times over), held, nested-held and released.
  writeFileSync(
    join(dir, 'hold.mjs'),
    `import v8 from 'node:v8';
import { loadYoungGenerationHold } from './gc-nudge.mjs';
const youngSize = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const workload = () => { let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 20000) keep = []; } };
const hold = await loadYoungGenerationHold();
const outer = hold();
const inner = hold();
workload();
const start = youngSize(); // the first scavenge may size it up to V8's initial size
workload();
inner();
workload();
const held = youngSize();
outer();
outer(); // a second release of the same hold is a no-op
workload();
console.log(JSON.stringify({ start, held, released: youngSize() }));
`,
  );
}, 30_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadMinorGc', () => {
  it('runs a minor collection per call in a process without --expose-gc, and exposes no gc global', () => {
    // Act
    const child = spawnSync(process.execPath, [join(dir, 'probe.mjs')], { encoding: 'utf8', timeout: 20_000 });

    // Assess
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout.trim()) as {
      exposedBefore: string;
      exposedAfter: string;
      sameFunction: boolean;
      minor: number;
    };
    expect(result).toMatchObject({ exposedBefore: 'undefined', exposedAfter: 'undefined', sameFunction: true });
    expect(result.minor).toBeGreaterThanOrEqual(5);
  });
});

describe('loadYoungGenerationHold', () => {
  it('keeps the young generation at its size while any hold lasts, and lets it grow once all are released', () => {
    // Act
    const child = spawnSync(process.execPath, [join(dir, 'hold.mjs')], { encoding: 'utf8', timeout: 20_000 });

    // Assess
    expect(child.status, child.stderr).toBe(0);
    expect(child.stderr).toBe(''); // V8 prints "unrecognized flag" here for a flag it does not know
    const result = JSON.parse(child.stdout.trim()) as { start: number; held: number; released: number };
    expect(result.held).toBeLessThanOrEqual(result.start); // never grown (V8 may still shrink it)
    expect(result.released).toBeGreaterThanOrEqual(4 * result.start);
  });
});
