# syntax=docker/dockerfile:1
# The nyx-gitops images: one build stage, then one small runtime image per program, each running
# the packed build (the files `npm pack` ships: package.json, dist/, bin/) with the production
# dependencies locked in package-lock.json. No sources, tests or dev tools reach a runtime image.
#
#   docker build --target bot        -t nyx-bot .
#   docker build --target cli        -t nyxctl .
#   docker build --target reconciler -t nyx-reconciler .   (its program lands with the reconciler)
#   docker build --target agent      -t nyx-agent .        (its program lands with the agent)
#
# The base image is pinned by digest: a rebuild is reproducible and a moved tag changes nothing.
# Bump it deliberately (`docker buildx imagetools inspect node:20-bookworm-slim` prints the digest).
ARG NODE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY io/package.json io/
COPY cli/package.json cli/
COPY bot/package.json bot/
COPY reconciler/package.json reconciler/
COPY agent/package.json agent/
COPY test/package.json test/
# Scripts off: `prepare` would build before the sources are copied; assemble-app.mjs builds.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# /app: the packed workspaces in their layout plus their production node_modules (see the script).
RUN node deploy/assemble-app.mjs /app

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the user the programs run as.
COPY --from=build /app /app
# `node` (uid 1000) ships with the base image.
USER node

FROM runtime AS cli
ENTRYPOINT ["node", "/app/cli/bin/nyxctl.js"]
CMD ["--help"]

FROM runtime AS bot
EXPOSE 3000
ENTRYPOINT ["node", "/app/bot/bin/nyx-bot.js"]

FROM runtime AS reconciler
ENTRYPOINT ["node", "/app/reconciler/bin/nyx-reconciler.js"]

# The agent programs nftables in the node's network namespace: it runs as root with only
# CAP_NET_ADMIN (the DaemonSet drops every other capability). A non-root user cannot hold the
# capability in Kubernetes without file capabilities on `nft`, which Debian's package does not set.
FROM runtime AS agent
# hadolint ignore=DL3002
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends nftables=1.0.6-2+deb12u2 \
  && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["node", "/app/agent/bin/nyx-agent.js"]
