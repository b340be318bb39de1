#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, then typechecks and runs vitest.
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

node scripts/build.mjs
npx tsc --noEmit -p .
npx vitest run "$@"
# The figures of the reliability suite (faults, hostile inputs, load, security) → docs/reliability.md.
if [ $# -eq 0 ]; then node scripts/reliability-report.mjs; fi
