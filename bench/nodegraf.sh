# nodegraf plugin for the side-by-side agent benchmark (../shared/bench/agents/run.sh sources it).
# Starts `node dist/cli/main.js` directly, so the sampled PID is the agent itself (main thread, libuv
# pool for gunzip and disk, all in one process). Run `npm run build` first.
NODEGRAF_REPO=${NODEGRAF_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
NODE_BIN=${NODE_BIN:-$(command -v node)}

agent_version() {
  echo "nodegraf-$("$NODE_BIN" "$NODEGRAF_REPO/dist/cli/main.js" --version) node-$("$NODE_BIN" --version)"
}

agent_start() {
  local conf=$AGENT_DIR/conf i
  mkdir -p "$conf/input.prometheus"
  cat > "$conf/config.toml" <<TOML
[global]
hostname = "bench-node"
interval = $INTERVAL
[log]
level = "warn"
[http]
address = "127.0.0.1:$AGENT_PORT"
[queue]
dir = "$AGENT_DIR/queue"
[[writers]]
url = "$REMOTE_WRITE_URL"
${NODEGRAF_EXTRA_TOML:-}
TOML
  {
    for ((i = 1; i <= TARGETS; i++)); do
      cat <<TOML
[[instances]]
urls = ["${TARGET_URLS[i - 1]}"]
url_label_value = "{{.Host}}{{.Path}}"
timeout = "${INTERVAL}s"
# the 200k-series page is ~77 MB; vmagent runs with -promscrape.maxScrapeSize=1GiB for the same reason
body_size_limit = "1GiB"
labels = { job = "bench" }
TOML
    done
  } > "$conf/input.prometheus/prometheus.toml"
  # the flags and the environment of src/cli/main.ts's first line (why: its comment)
  MALLOC_MMAP_THRESHOLD_=32768 "$NODE_BIN" --single-threaded-gc --max-semi-space-size=1 ${NODEGRAF_NODE_FLAGS:-} \
    "$NODEGRAF_REPO/dist/cli/main.js" run --configs "$conf" >"$AGENT_DIR/nodegraf.log" 2>&1 &
  AGENT_PID=$!
}

agent_metrics_url() { echo "http://127.0.0.1:$AGENT_PORT/metrics"; }

agent_extract() {
  echo "$("$PY" "$HERE/measure.py" prom-value "$1" nodegraf_scraped_samples_total)" \
       "$("$PY" "$HERE/measure.py" prom-value "$1" nodegraf_writer_sent_bytes_total)" \
       "$("$PY" "$HERE/measure.py" prom-value "$1" nodegraf_writer_sent_samples_total)"
}
