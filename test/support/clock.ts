/**
 * The test process's clock, for the children it spawns with a clean environment.
 *
 * scripts/test.sh runs the suite a second time under libfaketime (`faketime -f '+400d' npx vitest run`), which
 * shifts the clock of this process and of every child that inherits `LD_PRELOAD` and the `FAKETIME*` settings.
 * A child given only PATH and its own variables (the CLI as a user runs it, a Lambda zip in a fresh `node`)
 * would lose them and run on the real clock while the test builds its data, windows and expectations on the
 * shifted one. Peers libfaketime cannot reach keep the real clock whatever the environment: Prometheus and
 * promtool (Go binaries, no libc time calls) and file modification times (stamped by the kernel).
 */

/** libfaketime's own settings (its README): every `FAKETIME*` variable, and two older names. */
const FAKETIME_VARIABLE = /^(FAKETIME.*|DONT_FAKE_MONOTONIC|NO_FAKE_STAT)$/;

/**
 * The variables that carry a libfaketime clock into a child: `LD_PRELOAD` (only when it loads libfaketime) and
 * libfaketime's settings. Empty when the suite runs on the real clock.
 */
export function clockEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const preload = env.LD_PRELOAD;
  if (preload === undefined || !preload.includes('libfaketime')) return {};
  const out: Record<string, string> = { LD_PRELOAD: preload };
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && FAKETIME_VARIABLE.test(name)) out[name] = value;
  }
  return out;
}
