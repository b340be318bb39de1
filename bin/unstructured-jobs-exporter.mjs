#!/usr/bin/env node
// Runs the bundled CLI; in a checkout, (re)builds it first when lib/ is newer than the bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
const sources = fileURLToPath(new URL('../lib/', import.meta.url));

function stale() {
  if (!existsSync(bundle)) return true;
  if (!existsSync(sources)) return false; // an installed package ships dist/ only
  const built = statSync(bundle).mtimeMs;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? newer(`${dir}/${e.name}`) : statSync(`${dir}/${e.name}`).mtimeMs > built,
    );
  return newer(sources);
}

if (stale()) await import('../scripts/build.mjs');
const { main } = await import(bundle);
process.exitCode = await main(process.argv.slice(2));
