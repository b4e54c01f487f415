# Edge agent image. From the repository root:
#   docker build -f deploy/docker/agent.Dockerfile -t gateway/agent .
# Run it with its config at /etc/gw-agent/agent.yaml and the credential in GW_AGENT_CREDENTIAL.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# Build everything, then install again only what this app needs at run time: its production
# dependencies and those of the workspace libraries it uses (not the other apps', nor any tool's).
RUN npm ci && npm run -s build \
 && rm -rf node_modules && npm ci --omit=dev --workspace @gw/agent --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# The agent's Node flags (tools/node-flags.mjs): WebAssembly stays on V8's baseline compiler.
ENV NODE_OPTIONS=--liftoff-only
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/libs ./libs
COPY --from=build /src/apps/agent/package.json apps/agent/package.json
COPY --from=build /src/apps/agent/dist apps/agent/dist
# The recording spool and the SSH CA key live here: give it a persistent volume.
RUN mkdir -p /var/lib/gw-agent && chown node:node /var/lib/gw-agent
USER node
CMD ["node", "apps/agent/dist/main.js", "--config", "/etc/gw-agent/agent.yaml"]
