# syntax=docker/dockerfile:1
# One image for every Arbees process (operator, monitors, detector, executor, simulators):
# `arbees <command>` is the entrypoint. Node.js 24 LTS, pinned to the release; the runtime stage
# holds only glibc/libstdc++ (distroless), node, tini and the app: no shell, no package manager.
# .dockerignore lists what the build may see (the code folders, crds, package and tsconfig files).

FROM node:24.22.3-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.* \
 && rm -rf /var/lib/apt/lists/*
# Set only where TLS to the npm registry goes through a proxy with its own CA (the bundle is
# mounted for the build); empty otherwise.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . ./
# Only what runs: no dev packages, no TypeScript (an optional peer of viem's abitype), no
# sources, type declarations, source maps or docs of the packages.
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/typescript \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/bin/tini-static /usr/bin/tini
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=root:root /src/package.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/crds ./crds
# The simulators' built-in scenarios (`arbees sim`, `arbees demo`) are read at run time.
COPY --from=build --chown=root:root /src/workloads/sim/scenarios ./workloads/sim/scenarios
# The code is owned by root and read-only to the process; it runs unprivileged (uid 1000, the
# node image's `node` user) and writes nowhere, so the pod can use a read-only root filesystem.
USER 1000:1000
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/node", "/app/dist/cli/arbees.js"]
CMD ["--help"]
