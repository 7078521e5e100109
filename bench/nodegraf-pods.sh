# nodegraf with pod enrichment, for the side-by-side agent benchmark (issue 19: a busy node with the
# pod view on must stay within 10 % of the run without it). As bench/nodegraf.sh, plus a local
# list/watch API server (src/bench/pod-view.ts) serving one pod for every namespace/pod pair of the
# payload (328 on 1 x 40,000), each with an `app` label and a ReplicaSet owner, and
# `[pod_metadata] source = "apiserver"` with `pod_labels = ["app"]`: every container series gains
# its workload and label. Only the agent is sampled; the API server is another process.
#   AGENTS="bench/nodegraf.sh bench/nodegraf-pods.sh" CASES=1x40000 npm run bench:agents
# shellcheck source=bench/nodegraf.sh
source "$(dirname "${BASH_SOURCE[0]}")/nodegraf.sh"
eval "$(declare -f agent_start | sed '1s/agent_start/nodegraf_agent_start/')"

agent_start() {
  local view=$AGENT_DIR/pod-view i
  mkdir -p "$view"
  "$NODE_BIN" "$NODEGRAF_REPO/build/bench/bench/pod-view.js" "$PAYLOAD" bench-node "$view" >"$AGENT_DIR/pod-view.log" 2>&1 &
  PIDS_TO_STOP+=("$!")
  for ((i = 0; i < 100; i++)); do [[ -s $view/url ]] && break; sleep 0.1; done
  [[ -s $view/url ]] || { echo "pod view did not start:" >&2; cat "$AGENT_DIR/pod-view.log" >&2; return 1; }
  NODEGRAF_EXTRA_TOML="[pod_metadata]
enable = true
source = \"apiserver\"
node_name = \"bench-node\"
apiserver_url = \"$(cat "$view/url")\"
bearer_token_file = \"$view/token\"
tls_ca = \"$view/ca.pem\"
pod_labels = [\"app\"]"
  nodegraf_agent_start
}
