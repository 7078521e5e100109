#!/usr/bin/env bash
# `npm run bench:agents`: nodegraf, vmagent and Prometheus agent mode side by side, same targets and
# sink, interleaved rounds, median table (../shared/bench/agents, see its README).
#   REPEATS=3 DURATION=120 CASES="20x10000 1x200000" npm run bench:agents
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${HARNESS:-$REPO/../shared/bench/agents}
[[ -x $HARNESS/run.sh ]] || { echo "benchmark harness not found at $HARNESS" >&2; exit 1; }
bash "$REPO/scripts/install-peers.sh"
npm run --prefix "$REPO" build --silent
(cd "$REPO" && npx tsc -p tsconfig.bench.json)  # the pod view of bench/nodegraf-pods.sh
export RESULTS=${RESULTS:-$REPO/bench-agents-results.tsv}
export AGENTS=${AGENTS:-"$REPO/bench/nodegraf.sh vmagent prometheus-agent"}
export REPEATS=${REPEATS:-3} DURATION=${DURATION:-120}
"$HARNESS/run-matrix.sh"
python3 "$HARNESS/median.py" "$RESULTS"
