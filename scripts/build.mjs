// Bundles the CLI (and the benchmark) into dist/ with esbuild. node_modules stay external:
// the CLI runs from a checkout or an installed package, where they are present. Except BUNDLED: small pure-JS
// libraries the CLI needs at run time, inlined so that the package keeps depending on nothing but the optional AWS SDK.
//
// `--release` (npm's `prepack`, so `npm pack` and `npm publish`): the CLI alone, without a source map, which is
// all the package ships (package.json `files`); the bench bundle and the maps are for working in a checkout.
import { build } from 'esbuild';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Flags count only when this file is the script run (bin/ also imports it, with the CLI's own arguments).
const asScript = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
const release = asScript && process.argv.includes('--release');
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const { version } = manifest;
/**
 * Remote write's protobuf writer and snappy (docs/remote-write.md#libraries): ~20 KB in the bundle; croner, the cron
 * parser of the schedule health (issue 17): ~31 KB.
 */
const BUNDLED = new Set(['@bufbuild/protobuf', 'snappyjs', 'croner']);
const external = Object.keys({ ...manifest.optionalDependencies, ...manifest.devDependencies })
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);
const entryPoints = { cli: 'lib/cli.ts' };
if (!release && existsSync(new URL('../bench/bench.ts', import.meta.url))) entryPoints.bench = 'bench/bench.ts';

await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  sourcemap: release ? false : 'linked',
  define: { __EXPORTER_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
});
// A map left by an earlier checkout build would describe another bundle.
if (release) rmSync(new URL('../dist/cli.mjs.map', import.meta.url), { force: true });
