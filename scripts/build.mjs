// Bundles the CLI (and the benchmark) into dist/ with esbuild. node_modules stay external:
// the CLI runs from a checkout or an installed package, where they are present.
import { build } from 'esbuild';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entryPoints = { cli: 'lib/cli.ts' };
if (existsSync(new URL('../bench/bench.ts', import.meta.url))) entryPoints.bench = 'bench/bench.ts';

await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  define: { __EXPORTER_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
});
