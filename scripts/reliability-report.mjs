#!/usr/bin/env node
// Writes docs/reliability.md from the figures the reliability suite records in test/.artifacts/:
//   reliability-upstream.json  (test/reliability-upstream.test.ts)  upstream faults, a million records
//   reliability-hostile.json   (test/reliability-hostile.test.ts)   the property-based corpus of bad records
//   reliability-load.json      (test/reliability-load.test.ts)      concurrent scrapes, memory over 1,000 scrapes
//   reliability-memory.json    (test/reliability-memory.test.ts)    memory bounds: many workflows, endless bodies, a huge record
//   reliability-security.json  (test/reliability-security.test.ts)  access, secrets, dependencies
//   reliability-serve.json     (test/reliability-serve.test.ts)     hostile names and hostile clients against serve
//   reliability-state.json     (test/reliability-state.test.ts)     impossible runtimes, the finished-jobs state's memory
// Run it after the suite:  npx vitest run test/reliability-*.test.ts && node scripts/reliability-report.mjs
// A missing artifact is reported as "not run" in the document (and makes this script exit 1), never skipped silently.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = `${root}test/.artifacts/`;
const out = `${root}docs/reliability.md`;

function load(name) {
  const path = `${artifacts}reliability-${name}.json`;
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

const upstream = load('upstream');
const hostile = load('hostile');
const load_ = load('load');
const security = load('security');
const memory = load('memory');
const serve = load('serve');
const state = load('state');

/** Problems found in the figures: listed under "What was lost". */
const lost = [];
const cell = (v) =>
  String(v ?? '—')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
const yes = (passed) => (passed ? 'pass' : '**FAIL**');

const lines = [];
/** Appends blocks (paragraphs, tables, lists), each followed by a blank line. */
const p = (...blocks) => lines.push(...blocks.flatMap((block) => [block, '']));

p(
  '# Reliability: upstream faults, hostile input, the finished-jobs state, scrape load, memory bounds and abuse',
  'An exporter is trusted only if it never lies: a broken pull must look broken, a bad record must not change the other numbers, ' +
    'and nobody without the token reads the metrics. These figures are measured by the reliability suite (part of `npm test`) ' +
    'and written here by `node scripts/reliability-report.mjs`; regenerate them with',
  '```sh\nnpx vitest run test/reliability-*.test.ts && node scripts/reliability-report.mjs\n```',
  `Generated ${new Date().toISOString()} from the artifacts in \`test/.artifacts/\`.`,
);

// ---------------------------------------------------------------------------------------------------------
p('## Upstream faults', 'Source: `test/reliability-upstream.test.ts`.');
if (upstream === undefined) {
  p('_Not run: test/.artifacts/reliability-upstream.json is missing._');
  lost.push('the upstream-fault suite did not run');
} else {
  const s = upstream.settings;
  p(
    `Each fault is served by the fake Unstructured API and pulled END TO END through the real exporter: \`app.handle('/metrics')\` ` +
      '(what the local server and the function URL serve), the metrics Lambda handler and the scheduled collect Lambda handler ' +
      `(its CloudWatch client captured), each against its own fake, with REQUEST_TIMEOUT=${s.requestTimeoutMs} ms, ` +
      `PULL_DEADLINE=${s.pullDeadlineMs} ms and MAX_RETRIES=${s.maxRetries}. For every failure the exposition reads ` +
      '`unstructured_up 0` and `unstructured_collect_error{kind}` with **no job series**, CloudWatch gets `CollectorUp 0` and ' +
      '**no job datum**, the status page shows the error, the error is one line and one log entry, and nothing throws out of ' +
      'the app or the handlers. Every exposition passes `promtool check metrics`; every datum passes `validateDatum`.',
    table(
      ['fault', 'outcome', 'requests (app / metrics Lambda / collect Lambda)', 'time to give up or succeed', 'result'],
      upstream.cases.map((c) => [
        c.fault,
        c.outcome,
        `${c.requests} / ${c.lambdaRequests} / ${c.collectLambdaRequests}`,
        `${c.seconds.toFixed(3)} s`,
        yes(c.passed),
      ]),
    ),
  );
  for (const c of upstream.cases)
    if (!c.passed) lost.push(`upstream fault "${c.fault}": ${c.outcome}, expected ${c.expected}`);
  const errors = upstream.cases.filter((c) => c.message);
  p(
    'The error each failure reports (`unstructured_collect_error` kind, and the one-line message on the status page and in the log):',
  );
  p(
    table(
      ['fault', 'message'],
      errors.map((c) => [c.fault, c.message.replace(/http:\/\/127\.0\.0\.1:\d+/g, '<api>')]),
    ),
  );
  const l = upstream.large ?? {};
  if (l.records === undefined) {
    p('_A million records: not run._');
    lost.push('the million-record pull did not run');
  } else {
    p(
      '### A million records',
      `${l.records.toLocaleString('en')} records (a ${l.bodyMb} MB body, generated lazily by the fake API) in ${l.requests} request, ` +
        `counted exactly (jobs by status, skips, runtime histogram count) in ${l.seconds} s. Peak growth over the baseline: ` +
        `heap + buffers ${l.peakHeapGrowthMb} MB, RSS ${l.peakRssGrowthMb} MB (what grows is the duplicate-id set of 1M UUIDs ` +
        `and the window's runtimes, never the body); retained after the pull and a GC: ${l.retainedAfterGcMb} MB. Result: ${yes(l.passed)}.`,
    );
    if (!l.passed) lost.push('the million-record pull failed its checks');
  }
}

// ---------------------------------------------------------------------------------------------------------
p('## Hostile input', 'Source: `test/reliability-hostile.test.ts`.');
if (hostile === undefined) {
  p('_Not run: test/.artifacts/reliability-hostile.json is missing._');
  lost.push('the hostile-input suite did not run');
} else {
  p(
    `A fast-check corpus (seed ${hostile.seed}, ${hostile.numRuns} generated lists plus targeted regressions: ${hostile.runs} runs, ` +
      `${hostile.records.toLocaleString('en')} records, bodies up to ${(hostile.maxBodyBytes / 1024).toFixed(0)} KiB), each list served ` +
      'by the fake API through the real HTTP client and streaming parser into a fresh exporter. Valid records live in their own ' +
      'workflows (with names holding quotes, backslashes, a newline, accents, CJK and emoji); counted hostile records in others; ' +
      'skipped records may name a valid workflow, and duplicates (placed last) reuse the ids of counted records with another ' +
      'workflow, status, name and the newest date. Hostile values: missing fields; numbers, booleans, null, objects and arrays ' +
      `in every field; ${hostile.hugeStrings} huge strings (1,000–100,000 characters); control characters, quotes, backslashes, ` +
      'newlines, U+2028, BOM, zero-width and bidi characters, lone surrogates, `__proto__`/`constructor`/`toString`, "other"; ' +
      'unknown statuses and job types; every malformed duration (and valid ones); malformed and out-of-range dates.',
    'Asserted on every run: the pull succeeds; no duplicate series; every CloudWatch datum valid and unique; fetched = records ' +
      'sent; skip counts by reason = the records generated to be skipped for that reason; runtime_unparsable, ' +
      'runtime_longer_than_age (a valid duration ending more than 5 minutes after now), workflows and the ' +
      'total of `unstructured_jobs` (and of the CloudWatch `Jobs` totals) = the counted records; for each valid workflow, exactly: ' +
      'jobs by job type × status, runtime histogram buckets, count and sum, recent-window count, oldest pending age, and the ' +
      `CloudWatch Jobs by status. ${hostile.promtoolRuns} runs also through \`promtool check metrics\`.`,
    table(
      ['records generated, by kind', 'count'],
      Object.entries(hostile.kinds)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, n]) => [k.replace(/^runtime:/, 'runtime (counted records): '), n]),
    ),
    table(
      ['test', 'result'],
      Object.entries(hostile.tests ?? {}).map(([name, passed]) => [name, yes(passed)]),
    ),
  );
  for (const [name, passed] of Object.entries(hostile.tests ?? {})) if (!passed) lost.push(`hostile input: ${name}`);
}

// ---------------------------------------------------------------------------------------------------------
p(
  '## Impossible runtimes and the finished-jobs state',
  'Source: `test/reliability-state.test.ts` (issue 15, items 2, 3 and 5).',
);
if (state === undefined) {
  p('_Not run: test/.artifacts/reliability-state.json is missing._');
  lost.push('the finished-jobs state suite did not run');
} else {
  const r = state.longerThanAge;
  if (r === undefined) lost.push('state: the runtime-longer-than-age case did not run');
  else {
    p(
      `**A runtime longer than the job's age.** ${r.jobs.toLocaleString('en')} COMPLETED jobs of one workflow with runtimes of ` +
        `10 s to 11,000 s, plus ${r.impossible} jobs created an hour ago claiming 400 days (\`P1Y35D\`), \`P1100000000000Y\` and ` +
        "pydantic's `timedelta.max`, through the real exporter. Before, such runtimes entered the histogram and the window " +
        '(issue 15: p99 and max of the window summary read 34,560,000 s for a workflow whose real p99 is ~11,000 s; here the ' +
        `max would have read ~3.5 × 10¹⁹ s). Now: p99 ${r.p99Seconds} s, max ${r.maxSeconds} s (the workflow's own), histogram count ${r.histogramCount}, ` +
        `\`unstructured_job_runtime_longer_than_age\` ${r.gauge}; the jobs are still counted. Result: ${yes(r.passed)}.`,
    );
    if (!r.passed) lost.push('state: a runtime longer than the age reached the runtime statistics');
  }
  p(
    '**A state an impossible runtime cannot poison.** Before, a published `P1100000000000Y` runtime (a finish hour that is ' +
      'not a safe integer) or a pending `timedelta.max` one after a failed PutMetricData was written to the state, and every ' +
      'later run refused it (`seen[1].hour is not an epoch hour`): a FAILED job added meanwhile was never published, and ' +
      'deleting the state did not help. Each run below goes through the real collector against moto (S3 state, CloudWatch): ' +
      'impossible runtimes (`P1100000000000Y`, `timedelta.max`, `P400D`) listed beside an ordinary job, a first run whose ' +
      'PutMetricData fails, then a FAILED job appears; it must be published by the next run, exactly once.',
    table(
      ['starting from', 'runs', 'result'],
      (state.poisoning ?? []).map((c) => [c.start, c.outcome, yes(c.passed)]),
    ),
  );
  for (const c of state.poisoning ?? []) if (!c.passed) lost.push(`state: from ${c.start}: ${c.outcome}`);
  p(
    '**Memory of the state.** A state of n remembered ids (UUIDs whose jobs finished over a week) decoded in a fresh ' +
      '`node --expose-gc` process: heap and buffers after a full GC, over the ids (target ≤ 64 bytes an id), and the decode ' +
      'time, a figure here (the suite runs files side by side on two cores): its target, ≤ 1 s a million ids, is checked by ' +
      '`npm run bench` (docs/performance.md). ' +
      'Measured once on the previous code (commit 6535909) with the same 500k-id state: 424 bytes an id, 4.8 s to decode ' +
      '(issue 15 counted ~840 bytes an id, the run copying the set once more).',
    table(
      [
        'ids',
        'state',
        'decode (wall)',
        'decode (CPU)',
        'encode',
        'bytes an id',
        'heap + buffers',
        'peak RSS',
        'result',
      ],
      (state.decode ?? []).map((d) => [
        d.ids.toLocaleString('en'),
        `${d.stateMb} MB`,
        `${d.decodeSeconds} s`,
        `${d.decodeCpuSeconds} s`,
        `${d.encodeSeconds} s`,
        d.bytesPerId,
        `${d.heapAndBuffersMb} MB`,
        `${d.peakRssMb} MB`,
        yes(d.passed),
      ]),
    ),
    '**A whole collect run.** `collect --sink cloudwatch --state FILE` (the CLI binary, against moto and the fake API) with ' +
      '500,000 remembered ids, 50 of the listed jobs new, and the first run that writes such a state; peak RSS as the kernel ' +
      "counts it (`maxRSS` at exit), beside the same run without `--state`; the bound is issue 15's 160 MB. Measured once on " +
      'the code before issue 15 with the same state and lists: 483 MB (issue 15: 494 MB) when only the new jobs are listed, ' +
      '708 MB when all 500,000 are; on the code before the state was read from its bytes and before the pull (9d4cc40), ' +
      '118–141 MB, 185–197 MB and, for the first run, 156–163 MB (docs/performance.md, "Memory bounds").',
    table(
      ['jobs listed', 'remembered', 'state', 'peak RSS without events', 'peak RSS', 'bound', 'result'],
      (state.collect ?? []).map((c) => [
        c.listed.toLocaleString('en'),
        c.firstRun ? 'none (first run)' : c.remembered.toLocaleString('en'),
        c.firstRun ? `${c.stateMb} MB written` : `${c.stateMb} MB`,
        `${c.peakRssWithoutEventsMb} MB`,
        `${c.peakRssMb} MB`,
        `${c.boundMb} MB`,
        yes(c.passed),
      ]),
    ),
  );
  for (const d of state.decode ?? []) if (!d.passed) lost.push(`state: decoding ${d.ids} ids missed its targets`);
  for (const c of state.collect ?? [])
    if (!c.passed) lost.push(`state: a collect run listing ${c.listed} jobs passed ${c.boundMb} MB`);
  if ((state.decode ?? []).length < 2 || (state.collect ?? []).length < 3 || (state.poisoning ?? []).length < 3)
    lost.push('state: some cases did not run');
}

// ---------------------------------------------------------------------------------------------------------
p('## Scrape load', 'Source: `test/reliability-load.test.ts`.');
if (load_ === undefined) {
  p('_Not run: test/.artifacts/reliability-load.json is missing._');
  lost.push('the load suite did not run');
} else {
  const row = (where, b, single) => [
    where,
    load_.concurrent,
    b?.upstreamPulls,
    `${b?.p50Ms} ms`,
    `${b?.p99Ms} ms`,
    `${b?.maxMs} ms`,
    single === undefined ? '' : `${single} ms`,
  ];
  p(
    `${load_.concurrent} concurrent scrapes of \`/metrics\` (a list of ${load_.records.toLocaleString('en')} jobs, CACHE_TTL=${load_.cacheTtlMs} ms), ` +
      "then the same burst again after the TTL. A burst's latency is the one shared pull plus each scrape's own rendering of " +
      'the shared collection (the 50 renders run one after another on one event loop); the last column is one more scrape of ' +
      'the cached collection alone.',
    table(
      ['where', 'concurrent scrapes', 'upstream pulls', 'p50', 'p99', 'max', 'one cached scrape'],
      [
        row('local server (CLI binary), first burst', load_.localServer?.first),
        row('local server, burst after the TTL', load_.localServer?.second, load_.localServer?.cachedSingleMs),
        row('metrics Lambda handler (cold), first burst', load_.lambda?.first),
        row('metrics Lambda handler, burst after the TTL', load_.lambda?.second, load_.lambda?.cachedSingleMs),
      ],
    ),
  );
  const m = load_.memory;
  if (m) {
    p(
      `Memory: ${m.scrapes.toLocaleString('en')} scrapes of the local server in a \`node --expose-gc\` child, each with its own ` +
        `upstream pull (${m.upstreamPulls.toLocaleString('en')} pulls, CACHE_TTL=1ms), in ${m.seconds} s. heapUsed after a full GC: ` +
        `${m.heapAt100Mb} MB at scrape 100, ${m.heapAt1000Mb} MB at scrape 1,000 (growth ${m.growthMb} MB; the bound is 5 MB). ` +
        `Result: ${yes(m.passed)}.`,
    );
  }
  for (const [name, section] of [
    ['local server bursts', load_.localServer],
    ['Lambda bursts', load_.lambda],
    ['memory over 1,000 scrapes', load_.memory],
  ]) {
    if (!section?.passed) lost.push(`load: ${name} ${section ? 'failed its checks' : 'did not run'}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
p('## Memory bounds', 'Source: `test/reliability-memory.test.ts`.');
if (memory === undefined) {
  p('_Not run: test/.artifacts/reliability-memory.json is missing._');
  lost.push('the memory-bounds suite did not run');
} else {
  const gib = (bytes) => `${(bytes / 1024 ** 3).toFixed(0)} GiB`;
  const cases = [
    [
      'workflows100k',
      (c) =>
        `${c.jobs.toLocaleString('en')} jobs over ${c.workflows.toLocaleString('en')} workflows (${c.bodyMb} MB body)`,
      (c) => `ok in ${c.seconds} s; every count exact`,
      '≤ 200 MB',
    ],
    [
      'workflows50k',
      (c) =>
        `${c.jobs.toLocaleString('en')} jobs over ${c.workflows.toLocaleString('en')} workflows, five busy ones (${c.bodyMb} MB)`,
      (c) => `ok in ${c.seconds} s; every count exact`,
      '≤ 200 MB',
    ],
    [
      'endlessWorkflows',
      (c) => `a body that never ends, each ${c.recordBytes}-byte job in a new workflow`,
      (c) => `\`${c.errorKind}\` after ${c.sentMb} MB sent, ${c.seconds} s`,
      '≤ 300 MB',
    ],
    [
      'endlessLongIds',
      (c) => `a body that never ends, each job a new ${c.idLength}-character id (not a UUID)`,
      (c) => `\`${c.errorKind}\` after ${c.sentMb} MB sent, ${c.seconds} s`,
      '≤ 200 MB',
    ],
    [
      'tooLargeElement',
      (c) => `one ${c.elementMb} MiB record among 40,000 (${c.bodyMb} MiB body)`,
      (c) => `ok in ${c.seconds} s; skipped as \`too_large\`: ${c.skipped}, the rest exact`,
      '≤ 150 MB',
    ],
  ];
  p(
    "Each case is one collection in a fresh child process (the exporter's `collect()`, bundled), with the default settings " +
      `(MAX_WORKFLOWS=50, MAX_RESPONSE_BYTES=${gib(memory.maxResponseBytes)}; PULL_DEADLINE raised so that the byte cap is what ` +
      'ends an endless body), against a body served from the test process, made from templates (job records as the API writes ' +
      "them, ~450 bytes). Peak RSS is the child's VmHWM, which does not carry over from the parent as ru_maxrss does; Node " +
      'itself with the exporter loaded is ~41 MB of it. Before this suite, 100,000 jobs over 100,000 workflows peaked at 625 MB ' +
      '(a full accumulator of ~5.7 KB per workflow, although all but 50 were folded), an endless stream of new workflows grew ' +
      'until the pull deadline (2.57 GB in 24 s), and 256-character ids cost ~300 bytes each (1.2 GB in 20 s).',
    table(
      ['case', 'outcome', 'peak RSS', 'bound', 'result'],
      cases.map(([key, what, outcome, bound]) => {
        const c = memory[key];
        return c === undefined
          ? [key, 'not run', '—', bound, '**FAIL**']
          : [what(c), outcome(c), `${c.peakRssMb} MB`, bound, yes(c.passed)];
      }),
    ),
    'Times depend on the machine and on the other work sharing its two cores: they show that the pull ends, not how fast.',
  );
  for (const [key] of cases)
    if (!memory[key]?.passed) lost.push(`memory bounds: ${key} ${memory[key] ? 'failed its checks' : 'did not run'}`);
}

// ---------------------------------------------------------------------------------------------------------
p('## Hostile names and hostile clients against `serve`', 'Source: `test/reliability-serve.test.ts`.');
if (serve === undefined) {
  p('_Not run: test/.artifacts/reliability-serve.json is missing._');
  lost.push('the serve suite did not run');
} else {
  const before = serve.before ?? {};
  p(
    "The exporter's own server (the CLI binary) against the fake API on 127.0.0.1, its memory read from `/proc/<pid>/status` " +
      '(VmRSS, and VmHWM for the peak since start), its descriptors from `/proc/<pid>/fd`; the attacking clients run in child ' +
      'processes of their own (`test/support/socket-flood.mjs`), with the default limits (`MAX_CONNECTIONS=256`, `SEND_TIMEOUT=30s`).',
  );
  const n = serve.names;
  if (n === undefined) {
    p('_Hostile names: not run._');
    lost.push('serve: the hostile-name attacks did not run');
  } else {
    p(
      `**Workflow names of megabytes.** Each list is pulled and scraped once (baseline RSS ${n.baselineRssMb} MB). A name is cut to ` +
        '200 characters (ending "…") where the aggregation stores it, so every output carries the cut name; the workflow id keeps ' +
        'the series unique.',
      table(
        ['attack', 'before', 'answer', 'exposition', 'longest name label', 'promtool', 'peak RSS', 'scrape'],
        n.cases.map((c) => [
          c.attack,
          c.before,
          `HTTP ${c.status}${c.up ? ', unstructured_up 1' : ''}`,
          `${(c.expositionBytes / 1024).toFixed(0)} KB`,
          `${c.longestNameChars} characters`,
          c.promtool ? 'valid' : '**invalid**',
          `${c.peakRssMb} MB`,
          `${c.seconds.toFixed(2)} s`,
        ]),
      ),
    );
    if (!n.passed) lost.push('serve: a hostile-name attack failed its checks');
  }
  const l = serve.largeRender;
  if (l === undefined) lost.push('serve: the large-render memory check did not run');
  else {
    p(
      `**Memory after an unusually large render.** ${l.workflows.toLocaleString('en')} workflows with 5 KB names (an ${l.expositionMb} MB ` +
        `exposition), then an ordinary list scraped ${l.ordinaryScrapes} times: RSS ${l.rssBeforeMb} MB before, ${l.rssAfterLargeMb} MB ` +
        `after the large render, ${l.rssAfterOrdinaryMb} MB after the ordinary ones. Before: ${before.largeRender ?? '—'}. ` +
        'The renderer keeps an arena only while it is at most twice the last exposition, and asks for a full collection after ' +
        `dropping one of 32 MB or more. An exposition past 1 GiB is never written: /metrics answers \`unstructured_up 0\` with ` +
        '`kind="exposition_too_large"` (unit-tested with a small limit in `test/render-prometheus.test.ts`). ' +
        `Result: ${yes(l.passed)}.`,
    );
    if (!l.passed) lost.push('serve: memory did not shrink back after the large render');
  }
  const rows = [];
  const r = serve.noRead;
  if (r !== undefined) {
    rows.push([
      `${r.clients.toLocaleString('en')} clients send GET /metrics (a ${r.expositionKb} KB exposition) and never read`,
      before.noRead,
      `RSS ${r.baselineRssMb} → ${r.rssMaxMb} MB (peak ${r.peakRssMb} MB), ${r.descriptorsMax} descriptors; a scrape meanwhile: ${r.duringAttack}; ` +
        `/metrics answers ${r.recoveredMs} ms after they leave`,
      yes(r.passed),
    ]);
  }
  const h = serve.healthzFlood;
  if (h !== undefined) {
    rows.push([
      `${h.sockets.toLocaleString('en')} keep-alive sockets asking /healthz every second`,
      before.healthzFlood,
      `${h.descriptorsMax} descriptors, ${h.closedByServer.toLocaleString('en')} sockets closed by the cap; /metrics meanwhile: ${h.metricsDuring} ` +
        `(p50 ${h.metricsP50Ms} ms, max ${h.metricsMaxMs} ms); RSS ${h.baselineRssMb} → ${h.rssDuringMb} MB`,
      yes(h.passed),
    ]);
  }
  const c = serve.reconnectFlood;
  if (c !== undefined) {
    rows.push([
      `${c.clients.toLocaleString('en')} clients asking /healthz, reconnecting 100 ms after the cap closes them`,
      before.reconnectFlood,
      `${c.connectionsMade.toLocaleString('en')} connections made, ${c.descriptorsMax} descriptors at most; /metrics meanwhile: ${c.metricsDuring} ` +
        `(p50 ${c.metricsP50Ms} ms, max ${c.metricsMaxMs} ms)`,
      yes(c.passed),
    ]);
  }
  p(
    '**Clients that hold the server.** A full server closes the connection idle the longest to admit a new one and refuses a ' +
      'new one only while every connection is in the middle of a request; concurrent requests share one body per collection, ' +
      'page, format and encoding; a response not sent within `SEND_TIMEOUT` closes its connection.',
    table(['attack', 'before', 'now', 'result'], rows),
  );
  for (const [name, section] of [
    ['3,000 non-reading clients', r],
    ['20,000 keep-alive sockets', h],
    ['reconnecting clients', c],
  ]) {
    if (!section?.passed) lost.push(`serve: ${name} ${section ? 'failed its checks' : 'did not run'}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
p(
  '## Security',
  'Source: `test/reliability-security.test.ts`. The IAM least-privilege check of the packaged CloudFormation template is in `test/deploy-package.test.ts`.',
);
if (security === undefined) {
  p('_Not run: test/.artifacts/reliability-security.json is missing._');
  lost.push('the security suite did not run');
} else {
  p(
    'Access is checked on the local server (the CLI binary) and the metrics Lambda handler, each with the token from ' +
      '`METRICS_TOKEN` and from SSM (`METRICS_TOKEN_PARAM`, with `UNSTRUCTURED_API_KEY_PARAM`, as SecureString parameters in moto). ' +
      'The token comparison hashes both sides with SHA-256 and compares the digests with `timingSafeEqual` (no length or content ' +
      'timing); it is asserted by behaviour: every near miss is refused. Leaks are searched as any 6-character piece of the API ' +
      'key or the token (a cut-off key is a leak too).',
    table(
      ['area', 'check', 'result'],
      security.checks.map((c) => [c.area, c.check, c.passed ? 'pass' : `**FAIL**: ${c.failure ?? ''}`]),
    ),
  );
  for (const c of security.checks) if (!c.passed) lost.push(`security: ${c.check} — ${c.failure ?? 'failed'}`);
}

// ---------------------------------------------------------------------------------------------------------
p(
  '## Bugs this suite found (fixed)',
  [
    '- **A status named like an `Object.prototype` member failed the whole pull.** `constructor`, `__proto__`, `toString` … looked up in plain-object tables (`TERMINAL_INDEX`) found inherited values: one such record with a runtime crashed aggregation (`unstructured_up 0`, kind `internal`); without a runtime its counts vanished or became strings (an invalid CloudWatch datum). Fixed in `lib/aggregate/aggregator.ts`: prototype-free tables.',
    '- **Junk job types pushed valid ones into `job_type="other"`.** The cap of 20 unknown job types counted the documented ones too, so 20 junk types seen first folded every later `persistent`/`scheduled`/`template` job. Fixed in `lib/aggregate/aggregator.ts`: the documented job types are never folded.',
    '- **Duplicate series from lone surrogates.** Workflow ids, statuses or job types differing only by a lone surrogate (JSON `"\\ud800"`) were two groups but one UTF-8 label value: a duplicate series (rejected by Prometheus) and duplicate CloudWatch datums. Fixed in `lib/aggregate/aggregator.ts`: label strings are made well-formed (U+FFFD) before grouping, as invalid UTF-8 bytes already were.',
    '- **A workflow whose id is literally `other` beside the folded rest.** When it survived the `MAX_WORKFLOWS` cap while others were folded, the snapshot held two entries with id `other`: duplicate series (with no name, identical labels) and duplicate CloudWatch datums (both `Workflow=Other`). Fixed in `lib/aggregate/aggregator.ts`: such a workflow joins the folded rest, the next busiest takes its place.',
    '- **Half an API key leaked at a truncation point.** An upstream error echoing the key where the 300-character detail (or the 200-character excerpt of a 200 error object) was cut left the key\'s first characters in the error, log, status page and metrics: whole-key redaction could not see them. Fixed in `lib/pull/pull-error.ts`: a prefix of the key before the cut ("…") is redacted too.',
    "- **A job counted under another workflow.** The scanner's interner kept each token's bytes as a view of the body (`Buffer#slice` does not copy). A key read from the stream's carry-over buffer (an element spanning two chunks) changed when the next such element overwrote that buffer, and a later record of the same layout could match it and be counted under the first record's workflow; a key read from a socket chunk kept the whole 64 KiB chunk alive. Found by the memory-bounds suite (one of 50,005 workflows lost); fixed in `lib/records/byte-interner.ts` (keys are copies), with regression tests in `test/records.test.ts` and `test/fast-path.test.ts`.",
    '- **An unreadable token parameter threw out of the handler.** With `METRICS_TOKEN_PARAM` unreadable (SSM down, parameter missing) the app rejected, so the Lambda invocation failed (502) and the local server answered a bare 500 with no log of why. Fixed in `lib/outputs/http/app.ts` (fail closed: 503 for everyone, nothing thrown) and `lib/exporter.ts` (the reason is logged, naming the parameter).',
  ].join('\n'),
);

p('## What was lost');
if (lost.length === 0)
  p('Nothing: every fault looked broken, every bad record was counted where it belonged, every check passed.');
else {
  p(
    'No record, count or secret was found lost or leaked by the checks that ran; these are **not proven** (a check failed or could not run):',
    lost.map((x) => `- ${x}`).join('\n'),
  );
}

mkdirSync(`${root}docs`, { recursive: true });
writeFileSync(out, `${lines.join('\n').trimEnd()}\n`);
console.log(`wrote ${out}${lost.length ? ` (${lost.length} item(s) lost: see "What was lost")` : ''}`);
process.exitCode = [upstream, hostile, load_, security, serve, state, memory].some((a) => a === undefined) ? 1 : 0;
