#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, then lints, typechecks and runs vitest
# twice: with the clock shifted more than a year ahead (libfaketime), then on today's clock. No test may depend on
# the day it runs; the shifted run makes a date bomb fail here rather than on the day it goes off.
# Peers (Prometheus, moto, Chromium) are started and stopped by the tests themselves on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/vitest ]; then
  echo "test.sh: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

need_apt=()
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
[ -x /usr/bin/aws ] || need_apt+=(awscli)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v faketime >/dev/null 2>&1 || need_apt+=(faketime)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test.sh: installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
if ! command -v moto_server >/dev/null 2>&1; then
  echo "test.sh: moto_server (Python moto[server]) is required for the CloudWatch tests; installing it with pip"
  python3 -m pip install --quiet 'moto[server]'
fi
if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "test.sh: cfn-lint is required for the template tests (test/deploy-cfn-lint.test.ts); installing it with pip"
  python3 -m pip install --quiet cfn-lint
fi

npm run --silent lint
node scripts/build.mjs
npx tsc --noEmit -p .

# More than a year: data pinned to a fixed day is then older than every window the product keeps (CloudWatch's
# two weeks, the runtime window, the events retention) and a year-end has passed.
SHIFT='+400d'
# libfaketime reaches node and every child that inherits LD_PRELOAD (test/support/clock.ts); check that it does.
real_s=$(date +%s)
shifted_s=$(faketime -f "$SHIFT" node -p 'Math.floor(Date.now() / 1000)')
if [ $((shifted_s - real_s)) -lt $((365 * 86400)) ]; then
  echo "test.sh: faketime -f '$SHIFT' did not move node's clock a year ahead (node read $(date -u -d "@$shifted_s" '+%F %T UTC'))" >&2
  exit 1
fi

banner() { printf '\n==== test.sh: %s ====\n\n' "$*"; }
verdict() { if [ "$1" -eq 0 ]; then echo passed; else echo "FAILED (exit $1)"; fi; }

# The shifted run first: the artifacts the last run leaves in test/.artifacts/ (reliability figures, the status
# page screenshot) then carry today's date.
banner "vitest run 1 of 2: clock shifted $SHIFT by libfaketime (now $(faketime -f "$SHIFT" date -u '+%F %T UTC'))"
shifted=0
faketime -f "$SHIFT" npx vitest run "$@" || shifted=$?
banner "vitest run 2 of 2: today's clock (now $(date -u '+%F %T UTC'))"
today=0
npx vitest run "$@" || today=$?
banner "vitest: shifted $SHIFT $(verdict "$shifted"); today $(verdict "$today")"
if [ "$shifted" -ne 0 ] || [ "$today" -ne 0 ]; then exit 1; fi

# The figures of the reliability suite (faults, hostile inputs, load, security) → docs/reliability.md, once,
# from today's run.
if [ $# -eq 0 ]; then node scripts/reliability-report.mjs; fi
