#!/usr/bin/env node
// Runs the bundled CLI. In a checkout (lib/ and scripts/build.mjs beside it) it first (re)builds the bundle when
// lib/ is newer; an installed package ships dist/cli.mjs built by `npm pack` (prepack) and never builds.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
const sources = fileURLToPath(new URL('../lib/', import.meta.url));
const buildScript = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url));
const checkout = existsSync(sources) && existsSync(buildScript);

function stale() {
  if (!existsSync(bundle)) return true;
  const built = statSync(bundle).mtimeMs;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? newer(`${dir}/${e.name}`) : statSync(`${dir}/${e.name}`).mtimeMs > built,
    );
  return newer(sources);
}

if (checkout && stale()) await import('../scripts/build.mjs');
if (!existsSync(bundle)) {
  process.stderr.write(
    `error: ${bundle} is missing: this package was packed without its build (npm pack runs the prepack script)\n`,
  );
  process.exit(2);
}
const { main } = await import(bundle);
process.exitCode = await main(process.argv.slice(2));
