# syntax=docker/dockerfile:1
# One image for every Arbees process (operator, monitors, detector, executor, simulators):
# `arbees <command>` is the entrypoint.

FROM node:20.19-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY cli ./cli
COPY operator ./operator
COPY workloads ./workloads
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20.19-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=root:root /src/package.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root crds ./crds
# The code is owned by root and read-only to the process; it runs as the image's unprivileged
# `node` user (uid 1000) and writes nowhere, so the pod can use a read-only root filesystem.
USER 1000:1000
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/arbees.js"]
CMD ["--help"]
