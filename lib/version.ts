// Replaced at build time by esbuild/vitest `define` with package.json's version.
declare const __EXPORTER_VERSION__: string | undefined;

export const VERSION: string = typeof __EXPORTER_VERSION__ === 'string' ? __EXPORTER_VERSION__ : '0.0.0-dev';
