# streamcube worker / API image. The same image runs `streamcube run` (workers), `streamcube api`
# and `streamcube migrate`; the command decides.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY schemas ./schemas
COPY pipelines ./pipelines
COPY engine ./engine
COPY generator ./generator
COPY queries ./queries
COPY jobs ./jobs
COPY cli ./cli
COPY sinks ./sinks
COPY sql ./sql
COPY api ./api
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/package.json ./package.json
USER node
# bin/streamcube.js starts node with the worker's V8 flags (its first line).
ENTRYPOINT ["bin/streamcube.js"]
CMD ["--help"]
