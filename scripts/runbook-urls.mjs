#!/usr/bin/env node
// Sets the base of every `runbook_url` annotation of a Prometheus rule file: Prometheus rule files cannot
// template, so the absolute URLs are written out and this rewrites them (docs/alerts.md#runbook-urls).
//
//   node scripts/runbook-urls.mjs https://wiki.example.com/runbooks/unstructured-jobs \
//     < alerts/unstructured-jobs.rules.yml > /etc/prometheus/rules/unstructured-jobs.rules.yml
//
// Each `runbook_url: "<base>#<anchor>"` becomes `runbook_url: "<new base>#<anchor>"`; nothing else changes.
// Run it on alerts/unstructured-jobs.rules.test.yml too to keep `promtool test rules` passing on the copy.

/** The base the shipped rules carry: this repository's runbooks. A placeholder: set yours with this script. */
export const DEFAULT_RUNBOOK_BASE =
  'https://github.com/unstructured-jobs-exporter/unstructured-jobs-exporter/blob/main/docs/alerts.md';

const RUNBOOK_URL = /^([ \t]*runbook_url:[ \t]*)"[^"#\n]*#([a-z0-9-]+)"[ \t]*$/gm;

/** The rule file text with every runbook_url on `base`; throws when there is none or the base is not absolute. */
export function setRunbookBase(text, base) {
  let url;
  try {
    url = new URL(base);
  } catch {
    throw new Error(`not an absolute URL: ${JSON.stringify(base)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`not an http(s) URL: ${JSON.stringify(base)}`);
  if (url.hash !== '' || base.includes('"'))
    throw new Error(`the base must have no #fragment and no quote: ${JSON.stringify(base)}`);
  let count = 0;
  const out = text.replace(RUNBOOK_URL, (_, prefix, anchor) => {
    count++;
    return `${prefix}"${base}#${anchor}"`;
  });
  if (count === 0) throw new Error('no runbook_url: "…#anchor" annotation in the input');
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const base = process.argv[2];
  if (base === undefined || process.argv.length > 3) {
    process.stderr.write(
      `usage: node scripts/runbook-urls.mjs BASE_URL < rules.yml > rules-with-your-runbooks.yml\n(shipped base: ${DEFAULT_RUNBOOK_BASE})\n`,
    );
    process.exit(2);
  }
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  try {
    process.stdout.write(setRunbookBase(Buffer.concat(chunks).toString('utf8'), base));
  } catch (error) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(2);
  }
}
