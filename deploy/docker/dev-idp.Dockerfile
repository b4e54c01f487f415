# Development OIDC provider (never production). From the
# repository root:  docker build -f deploy/docker/dev-idp.Dockerfile -t gateway/dev-idp .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# Build everything, then install again only what this app needs at run time: its production
# dependencies and those of the workspace libraries it uses (not the other apps', nor any tool's).
RUN npm ci && npm run -s build \
 && rm -rf node_modules && npm ci --omit=dev --workspace @gw/dev-idp --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/libs ./libs
COPY --from=build /src/apps/dev-idp/package.json apps/dev-idp/package.json
COPY --from=build /src/apps/dev-idp/dist apps/dev-idp/dist
# Its signing keys are made at first start: the working directory is not the node user's to write.
RUN mkdir -p /var/lib/dev-idp && chown node:node /var/lib/dev-idp
ENV DEV_IDP_HOST=0.0.0.0 DEV_IDP_KEY_FILE=/var/lib/dev-idp/signing-keys.json
USER node
EXPOSE 9000
CMD ["node", "apps/dev-idp/dist/main.js"]
