# Control plane image, one build for every role (CONTROL_PLANE_ROLE=api, worker or all). From the
# repository root:  docker build -f deploy/docker/control-plane.Dockerfile -t gateway/control-plane .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# Build everything, then install again only what this app needs at run time: its production
# dependencies and those of the workspace libraries it uses (not the other apps', nor any tool's).
RUN npm ci && npm run -s build \
 && rm -rf node_modules && npm ci --omit=dev --workspace @gw/control-plane --no-audit --no-fund

FROM node:20-bookworm-slim
# openssl makes the endpoints' self-signed certificates at first start (when no *_TLS_CERT_FILE is given);
# the slim image has the library but not the command.
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# tools/node-flags.mjs: the control plane's V8 young generation (why there; e2e/deploy-manifests checks they agree).
ENV NODE_OPTIONS=--max-semi-space-size=32
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/libs ./libs
COPY --from=build /src/apps/control-plane/package.json apps/control-plane/package.json
COPY --from=build /src/apps/control-plane/dist apps/control-plane/dist
# The web console's static build, served at / (CONSOLE_DIR's default).
COPY --from=build /src/apps/console/dist apps/console/dist
# Certificates, keys and the SSH host key are made under DATA_DIR at first start: give it a volume.
RUN mkdir -p /var/lib/gateway && chown node:node /var/lib/gateway
ENV DATA_DIR=/var/lib/gateway HTTP_HOST=0.0.0.0 PG_HOST=0.0.0.0 MYSQL_HOST=0.0.0.0 SSH_HOST=0.0.0.0 K8S_HOST=0.0.0.0
USER node
EXPOSE 8080 15432 13306 12222 16443
CMD ["node", "apps/control-plane/dist/main.js"]
