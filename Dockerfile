# nodegraf's image: built with the full toolchain, run on distroless Node.js 24 (LTS) as a non-root
# user with production dependencies only. The DaemonSet (deploy/kubernetes) mounts the configuration
# at /etc/nodegraf/conf. Without a Docker engine, scripts/build-image.sh builds the same filesystem
# as an OCI image (umoci) and can push it (skopeo); src/cli/image.e2e.test.ts keeps the two in step
# and runs that image with runc. docs/kubernetes.md: build, push, and point the kit at it.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY conf /etc/nodegraf/conf
USER 65532:65532
# the flags and the environment of src/cli/main.ts's first line (why: its comment)
ENV MALLOC_MMAP_THRESHOLD_=32768
ENTRYPOINT ["/nodejs/bin/node", "--single-threaded-gc", "--max-semi-space-size=1", "/app/dist/cli/main.js"]
CMD ["--configs", "/etc/nodegraf/conf"]
