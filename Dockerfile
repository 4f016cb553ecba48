# One image recipe for every service: docker build --build-arg SERVICE=factor-totp -t warden/factor-totp .
FROM node:22-bookworm-slim AS build
RUN npm install -g pnpm@10.34.9
WORKDIR /src
COPY . .
ENV npm_config_manage_package_manager_versions=false TURBO_TELEMETRY_DISABLED=1
RUN pnpm install --frozen-lockfile && pnpm exec turbo run build
ARG SERVICE
RUN pnpm --filter "@warden/${SERVICE}" deploy --prod --legacy /out

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out .
USER node
CMD ["node", "--import", "./dist/telemetry.js", "dist/main.js"]
