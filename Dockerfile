# syntax=docker/dockerfile:1
#
# One image for every Correx process; the command picks which:
#   docker run … correx            # `correx api` (the default CMD): the HTTP API, port 8080
#   docker run … correx worker     # workflows and activities; health on 8081
#   docker run … correx migrate up # one-off, before rolling out a new version
#
# UNTESTED: written where no container engine exists, so this file has never been built.
# What was checked instead: `npm ci --omit=dev` of this package-lock.json on Node 20 (no tsx, no
# esbuild), then `correx migrate up` and `correx worker` (polling, /healthz ok, clean SIGTERM) run from
# exactly what the second stage gets: package*.json, bin/, dist/ from `npm run build`, runbooks/, with
# the code read-only. See docs/deploy.md.
#
# Two stages: the first installs every dependency and compiles the TypeScript to dist/ (`npm run
# build`: esbuild, one file at a time, with source maps); the second has only the production
# dependencies, bin/correx.js and dist/, so neither tsx nor esbuild nor the sources are in the image.
# Native parts come prebuilt for linux x64/arm64 with glibc (Temporal's core bridge is shipped inside
# @temporalio/core-bridge, @swc/core and esbuild as optional per-platform packages listed in
# package-lock.json), so Debian bookworm needs no compiler.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/
COPY services/ services/
COPY workflows/ workflows/
COPY activities/ activities/
COPY migrations/ migrations/
RUN node scripts/build.mjs

FROM node:20-bookworm-slim

# CORREX_HTTP_HOST: listen on every interface (127.0.0.1 is unreachable from outside a container).
# CORREX_DATA_DIR: writable state: the mail outbox while SMTP_URL is unset, and drill mail (always).
# CORREX_RUNBOOKS: the shipped example runbooks; mount your own folder over it (same content on
# every API instance).
ENV NODE_ENV=production \
    CORREX_HTTP_HOST=0.0.0.0 \
    CORREX_DATA_DIR=/var/lib/correx \
    CORREX_RUNBOOKS=/app/runbooks

WORKDIR /app

# Dependencies first, so that a source change does not reinstall them. `npm ci` needs the lockfile and
# honours package.json's `overrides` (@swc/core) as long as the two agree, which CI's `npm ci` checks.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && npm cache clean --force

# What runs: the CLI entry, the compiled code (services, workflows, activities, migrations) and the
# example runbooks. The code stays owned by root, so the process cannot change it. Stack traces name
# dist/ files; NODE_OPTIONS=--enable-source-maps (or CORREX_DEBUG=1 for the CLI) maps them to the
# TypeScript lines (the maps carry the sources).
COPY bin/ bin/
COPY --from=build /app/dist/ dist/
COPY runbooks/ runbooks/

RUN mkdir -p /var/lib/correx && chown 1000:1000 /var/lib/correx

# The official Node images' `node` user, numeric so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000

EXPOSE 8080 8081

# /healthz of whichever process this is: the API's port first, then the worker's health port (a port
# that is not listening is skipped; one that answers decides). No curl in slim images: Node's fetch.
# /healthz is 503 while PostgreSQL or Temporal is unreachable. start-period: a worker bundles the
# workflow code at start and waits (retrying) for Temporal.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["node", "-e", "const ports=[process.env.CORREX_HTTP_PORT||8080,process.env.CORREX_WORKER_HEALTH_PORT||8081];(async()=>{for(const port of ports){let r;try{r=await fetch('http://127.0.0.1:'+port+'/healthz',{signal:AbortSignal.timeout(4000)})}catch{continue}process.exit(r.ok?0:1)}process.exit(1)})()"]

ENTRYPOINT ["node", "bin/correx.js"]
CMD ["api"]
