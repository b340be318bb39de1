// Bundles the CLI (and the benchmark) into dist/ with esbuild. node_modules stay external:
// the CLI runs from a checkout or an installed package, where they are present.
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
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entryPoints = { cli: 'lib/cli.ts' };
// Dev dependencies the CLI needs at run time, bundled into dist/cli.mjs so that the package keeps no `dependencies`
// (test/npm-package.test.ts): croner (cron schedules, issue 17). Every other bare import stays external.
const BUNDLED = new Set(['croner']);
const externalButBundled = {
  name: 'external-but-bundled',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};
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
  plugins: [externalButBundled],
  sourcemap: release ? false : 'linked',
  define: { __EXPORTER_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
});
// A map left by an earlier checkout build would describe another bundle.
if (release) rmSync(new URL('../dist/cli.mjs.map', import.meta.url), { force: true });
