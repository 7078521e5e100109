#!/usr/bin/env bash
# The test suite: typecheck, lint, then every *.test.ts under src/ with node's test runner.
# End-to-end tests run against real VictoriaMetrics and Prometheus from Debian's packages, which
# this script unpacks into /opt/peers first (see scripts/install-peers.sh); each test starts and
# stops its own servers on 127.0.0.1.
#   scripts/test.sh          everything
#   scripts/test.sh unit     skip the end-to-end tests (*.e2e.test.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
if [[ $mode == all ]]; then
  if ! bash scripts/install-peers.sh; then
    if [[ ${CI:-} == true ]]; then echo "cannot install the peer servers needed by the e2e tests" >&2; exit 1; fi
    echo "warning: peer servers not installed; end-to-end tests will skip" >&2
  fi
fi
npx tsc -p tsconfig.json --noEmit
npx eslint --quiet src
npx prettier --check --log-level warn "src/**/*.ts"
if [[ $mode == unit ]]; then
  mapfile -t files < <(find src -name '*.test.ts' ! -name '*.e2e.test.ts' | sort)
else
  mapfile -t files < <(find src -name '*.test.ts' | sort)
fi
exec node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
