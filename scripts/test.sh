#!/usr/bin/env bash
# The test suite: typecheck, lint, then every *.test.ts under src/ with node's test runner, on the
# Node.js LTS the image ships (and the unit tests also on the machine's Node.js).
# End-to-end tests run against real VictoriaMetrics and Prometheus from Debian's packages, which
# this script unpacks into /opt/peers first (see scripts/install-peers.sh); each test starts and
# stops its own servers on 127.0.0.1. The browser test needs Debian's chromium, installed here
# (as root, with apt-get) when it is missing, as are umoci, runc and skopeo for the image test.
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
# The status page's browser test drives Debian's chromium (playwright-core cannot download one).
if [[ $mode == all && ! -x /usr/bin/chromium ]]; then
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "installing chromium for the browser test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
  if [[ ! -x /usr/bin/chromium ]]; then
    if [[ ${CI:-} == true ]]; then echo "cannot install chromium needed by the browser test" >&2; exit 1; fi
    echo "warning: chromium not installed; the browser test will skip" >&2
  fi
fi
# The image test builds an OCI image with Debian's umoci, pushes it with skopeo to a local registry
# and runs it with runc (no Docker engine).
if [[ $mode == all ]] && ! { command -v umoci && command -v runc && command -v skopeo; } >/dev/null; then
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "installing umoci, runc and skopeo for the image test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends umoci runc skopeo >/dev/null
  fi
  if ! command -v umoci >/dev/null || ! command -v runc >/dev/null || ! command -v skopeo >/dev/null; then
    if [[ ${CI:-} == true ]]; then echo "cannot install umoci, runc and skopeo needed by the image test" >&2; exit 1; fi
    echo "warning: umoci/runc/skopeo not installed; the image test will skip" >&2
  fi
fi
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.browser.json   # the status page's script, against the API's JSON types
npx eslint --quiet src
npx prettier --check --log-level warn "src/**/*.{ts,js}"
mapfile -t unit < <(find src -name '*.test.ts' ! -name '*.e2e.test.ts' | sort)
if [[ $mode == unit ]]; then files=("${unit[@]}"); else mapfile -t files < <(find src -name '*.test.ts' | sort); fi
# The suite runs on the Node.js LTS the image ships (scripts/node-lts.sh fetches it), so CI tests
# the runtime that runs on the nodes. The machine's own Node.js, which `npm run demo` and the bin
# use, runs the unit tests too when it is another major version.
if ! lts=$(bash scripts/node-lts.sh); then
  if [[ ${CI:-} == true ]]; then echo "cannot fetch the Node.js LTS the image ships" >&2; exit 1; fi
  echo "warning: Node.js LTS not fetched; the suite runs on $(node --version) only" >&2
  lts=node
fi
run() { "$1" --import tsx --test --test-concurrency=2 --test-timeout=600000 "${@:2}"; }
echo "# the suite on Node.js $("$lts" --version) (the image's)"
run "$lts" "${files[@]}"
if [[ $("$lts" -p 'process.versions.node.split(".")[0]') != $(node -p 'process.versions.node.split(".")[0]') ]]; then
  echo "# the unit tests on this machine's Node.js $(node --version)"
  run node "${unit[@]}"
fi
