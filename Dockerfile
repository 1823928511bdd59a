# syntax=docker/dockerfile:1
# xinge (SPEC 2): multi-stage, a maintained LTS slim base, non-root, HEALTHCHECK on /healthz.
#   docker build -t xinge .
#   docker run -p 8080:8080 xinge                                   # the demo: built-in SMSC simulator
#   docker run -p 8080:8080 -v $PWD/xinge.yaml:/etc/xinge/config.yaml:ro \
#     -v xinge-data:/var/lib/xinge -e XINGE_TOKEN_LOANS=... xinge    # a real config (secrets from the env)

# ---- build: dev dependencies, compile, then drop dev dependencies ----
FROM node:24-slim AS build
WORKDIR /app
# better-sqlite3 normally installs a prebuilt binary; the toolchain is only for a platform without one.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime: compiled code, production node_modules, the embedded default config ----
FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    XINGE_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
# /etc/xinge/config.yaml: the embedded default made reachable from outside the container
# (HTTP on 0.0.0.0) with its store on the volume. Mount your own file over it in production.
RUN node -e "const fs=require('fs'),Y=require('yaml');const c=Y.parse(fs.readFileSync('config/default.yaml','utf8'));c.http.host='0.0.0.0';c.store.path='/var/lib/xinge/xinge.db';fs.mkdirSync('/etc/xinge',{recursive:true});fs.writeFileSync('/etc/xinge/config.yaml',Y.stringify(c))" \
 && mkdir -p /var/lib/xinge /app/var \
 && chown -R node:node /var/lib/xinge /app/var
VOLUME ["/var/lib/xinge"]
# The image's own unprivileged user (uid 1000).
USER node
EXPOSE 8080
# node 24 has fetch built in; set XINGE_HEALTHCHECK_URL when the config moves the HTTP port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.XINGE_HEALTHCHECK_URL,{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) drains for shutdown_grace_s, then exits 0: keep docker's stop timeout above it.
STOPSIGNAL SIGTERM
CMD ["node", "dist/cli.js", "--config", "/etc/xinge/config.yaml"]
