#!/usr/bin/env bash
# Unpack the real servers the end-to-end tests and benchmarks run against, from Debian's packages,
# without installing system services: VictoriaMetrics (victoria-metrics, vmagent), Prometheus
# (prometheus, promtool), nginx, and the container registry (docker-registry, for the image push
# test), into $PEERS (default /opt/peers). Idempotent.
set -euo pipefail
PEERS=${PEERS:-/opt/peers}
if [[ -x $PEERS/victoria-metrics/usr/bin/victoria-metrics && -x $PEERS/prometheus/usr/bin/prometheus \
      && -x $PEERS/prometheus/usr/bin/promtool && -x $PEERS/nginx/usr/sbin/nginx \
      && -x $PEERS/docker-registry/usr/bin/docker-registry ]]; then
  exit 0
fi
command -v apt-get >/dev/null || { echo "install-peers: apt-get not found (Debian needed)" >&2; exit 1; }
mkdir -p "$PEERS/debs"
cd "$PEERS/debs"
# _apt cannot write here; download as root quietly
apt-get update -qq
apt-get download -qq victoria-metrics prometheus nginx nginx-common docker-registry 2>&1 | grep -v 'unsandboxed' || true
for p in victoria-metrics prometheus nginx nginx-common docker-registry; do
  deb=$(ls -t ${p}_*.deb | head -1)
  dpkg -x "$deb" "$PEERS/$p"
done
dpkg-deb -f "$(ls -t victoria-metrics_*.deb | head -1)" Version | sed 's/+.*//' > "$PEERS/victoria-metrics.version"
echo "install-peers: unpacked victoria-metrics, prometheus, nginx and docker-registry into $PEERS"
