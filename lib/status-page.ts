/** The landing page at `/`: the current collection as small, dependency-free HTML. */
import type { Collection } from './collection.js';

export function renderStatusPage(collection: Collection, options: { version: string }): string {
  const state = collection.ok ? `up: ${collection.snapshot.jobsFetched} job records` : `down: ${escapeHtml(collection.errorMessage)}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>unstructured-jobs-exporter</title></head>
<body><h1>unstructured-jobs-exporter ${escapeHtml(options.version)}</h1><p>${state}</p><p><a href="metrics">/metrics</a></p></body></html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
