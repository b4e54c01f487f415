# Development OIDC provider (never production). From the
# repository root:  docker build -f deploy/docker/dev-idp.Dockerfile -t gateway/dev-idp .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# Build everything, then drop the development dependencies (compilers, test tools, clients).
RUN npm ci && npm run -s build && npm prune --omit=dev

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
