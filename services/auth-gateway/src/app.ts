import type { NatsConnection } from '@nats-io/transport-node'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { DestinationStream } from 'pino'
import { createLogger, systemClock, type Clock } from '@warden/service-kit'
import type { GatewayConfig } from './config.js'
import { createAdminService } from './admin.js'
import { createApplicationsService } from './applications.js'
import { createAudit } from './audit.js'
import { createFactorChanges } from './factor-changes.js'
import { createFactorClient } from './factor-client.js'
import { ENROLLABLE, STRATEGIES, STRATEGY_LIST } from './factors/index.js'
import type { RouteContext } from './factors/strategy.js'
import { createRedisFlowStore } from './adapters/flow-store.js'
import { createSigninEvents } from './adapters/signin-events.js'
import authPlugin from './plugins/auth.js'
import busServicePlugin from './plugins/bus-service.js'
import errorsPlugin from './plugins/errors.js'
import demoAppPlugin from './plugins/demo-app.js'
import hostedPlugin from './plugins/hosted.js'
import natsPlugin from './plugins/nats.js'
import opsPlugin from './plugins/ops.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import redisPlugin from './plugins/redis.js'
import storesPlugin from './plugins/stores.js'
import swaggerPlugin from './plugins/swagger.js'
import tokensPlugin from './plugins/tokens.js'
import uiPlugin from './plugins/ui.js'
import activityRoutes from './routes/v1/activity.js'
import adminRoutes, { requireAdmin } from './routes/v1/admin.js'
import applicationRoutes from './routes/v1/applications.js'
import authorizeRoutes from './routes/v1/authorize.js'
import demoRoutes from './routes/v1/demo.js'
import meRoutes, { selfServiceHooks } from './routes/v1/me.js'
import { createHttpDemoOutbox, createRedisDemoOutbox, mergeDemoOutboxes } from './adapters/demo-outbox.js'
import signinRoutes from './routes/v1/signin.js'
import wellKnownRoutes from './routes/v1/well-known.js'
import { createSelfService } from './self-service.js'
import { createSigninService } from './signin.js'

export interface AppDeps {
  clock?: Clock
  logDestination?: DestinationStream
  /** Connections owned by the caller (tests); the app leaves them open on close. */
  nc?: NatsConnection
  redis?: Redis
}

/** Bodies are small JSON documents; anything larger is refused before parsing. */
const BODY_LIMIT = 16 * 1024
/** How long an expired transaction still answers 410 FLOW_EXPIRED before it becomes 404. */
const EXPIRED_FLOW_GRACE_MS = 10 * 60_000

/**
 * Request validation. Bodies and headers are never coerced and never stripped (a number is not a
 * code; an unknown field is an error); path and query strings may be coerced to their types.
 */
function validators (): { strict: Ajv, coercing: Ajv } {
  const base = { strict: true, allErrors: false, useDefaults: true, removeAdditional: false } as const
  return { strict: new Ajv({ ...base, coerceTypes: false }), coercing: new Ajv({ ...base, coerceTypes: true }) }
}

/**
 * Errors the router raises before any route runs: bad input, so 400 in our shape, and never the
 * path in the message.
 */
function frameworkErrors (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(400).header('content-type', 'application/json; charset=utf-8').send({
    error: { code: 'BAD_REQUEST', message: err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed' },
  })
}

/** The gateway as a Fastify instance: plugins, then routes. Tests drive it with `inject()`. */
export async function buildApp (config: GatewayConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock
  const log = createLogger({
    name: 'auth-gateway',
    level: config.LOG_LEVEL,
    ...(deps.logDestination === undefined ? {} : { destination: deps.logDestination }),
  })

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    // Do not let a client pick our request ids (they end up in logs).
    requestIdHeader: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>()

  const ajv = validators()
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' || httpPart === 'headers' ? ajv.strict : ajv.coercing).compile(schema))

  // Token answers and personal data must not sit in shared caches (RFC 6749 §5.1).
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/v1/')) void reply.header('cache-control', 'no-store')
  })

  await app.register(errorsPlugin)
  // Before any route: @fastify/swagger collects routes as they are added.
  await app.register(swaggerPlugin, { version: config.SERVICE_VERSION, publicUrl: config.PUBLIC_URL })
  await app.register(natsPlugin, { servers: config.NATS_URL, nc: deps.nc })
  await app.register(redisPlugin, { url: config.REDIS_URL, redis: deps.redis })
  await app.register(opsPlugin)
  // Root hooks, before any route: the per-IP limit runs ahead of every route's authentication.
  await app.register(rateLimitPlugin, {
    ipPerMin: config.RATE_LIMIT_IP_PER_MIN, transactionPerMin: config.RATE_LIMIT_TRANSACTION_PER_MIN, demoLoginPerMin: config.RATE_LIMIT_DEMO_LOGIN_PER_MIN,
  })
  await app.register(storesPlugin, { config, clock })
  await app.register(tokensPlugin, { config, clock })
  // Before auth and the routes: the hosted pages' session cookie, and its hooks on /v1/signin.
  await app.register(hostedPlugin, { config, clock })
  await app.register(authPlugin)
  await app.register(busServicePlugin, { version: config.SERVICE_VERSION })

  const factors = createFactorClient({
    nc: app.nats, timeoutMs: config.FACTOR_TIMEOUT_MS, describeTimeoutMs: config.DESCRIBE_TIMEOUT_MS, log, metrics: app.metrics,
  })
  const flows = createRedisFlowStore(app.redis, clock, { graceMs: EXPIRED_FLOW_GRACE_MS })
  const signin = createSigninService({
    factors, flows, tokens: app.tokens, clock, log, metrics: app.metrics, ttlMs: config.SIGNIN_TTL_SEC * 1000,
    policies: app.policies, rememberedDevices: app.rememberedDevices, risk: app.risk, resetUser: app.resetUser,
    attemptKey: app.attemptKeys, strategies: STRATEGIES, enrollable: ENROLLABLE, revocation: app.revocation, audit: createAudit(log), userLocks: app.userLocks,
    events: createSigninEvents({ publisher: app.events, redis: app.redis, log }),
  })
  const self = createSelfService({
    factors, tokens: app.tokens, clock, log, policies: app.policies, revocation: app.revocation,
    rememberedDevices: app.rememberedDevices, resetUser: app.resetUser,
    strategies: STRATEGY_LIST, wizardMaxAuthAgeSec: config.WIZARD_MAX_AUTH_AGE_SEC,
  })
  // The step-up preHandlers and the factor-change hook (revocation), shared by /v1/me and every strategy's routes.
  const hooks = selfServiceHooks(self, createFactorChanges({ revocation: app.revocation, rememberedDevices: app.rememberedDevices, clock, log }))

  await app.register(wellKnownRoutes)
  await app.register(uiPlugin, { demo: config.DEMO_MODE })
  if (config.DEMO_MODE) {
    // The fake SMS provider's messages, and the notifier's (user notifications, webhook deliveries).
    await app.register(demoRoutes, { outbox: mergeDemoOutboxes([createHttpDemoOutbox(config.DEMO_OUTBOX_URL), createRedisDemoOutbox(app.redis)]) })
    await app.register(demoAppPlugin, {
      publicUrl: config.PUBLIC_URL, mfaIssuer: config.MFA_ISSUER,
      policyDefaults: { rememberDays: config.DEFAULT_REMEMBER_DAYS, stepUpMaxAgeSec: config.STEP_UP_MAX_AGE_SEC },
    })
  }
  await app.register(authorizeRoutes, { publicUrl: config.PUBLIC_URL, sessionTtlSec: config.SIGNIN_TTL_SEC })
  await app.register(signinRoutes, { signin })
  await app.register(meRoutes, { self, hooks })
  // Each factor's own routes, from its strategy, behind the primary token: sign-in extras under
  // /v1/signin (push: the long-poll), self-service under /v1/me/<factor> (or the path it names).
  const routeContext: RouteContext = { factors, signin, log, ...hooks, publicUrl: config.PUBLIC_URL }
  for (const strategy of STRATEGY_LIST) {
    for (const [routes, prefix] of [[strategy.signinRoutes, '/v1/signin'], [strategy.selfService, `/v1/me/${strategy.selfServicePath ?? strategy.factor.name}`], [strategy.adminRoutes, '/v1/admin']] as const) {
      if (routes === undefined) continue
      await app.register(async (scope) => {
        scope.addHook('onRequest', app.authenticate)
        if (prefix === '/v1/admin') scope.addHook('onRequest', requireAdmin)
        await scope.register(routes(routeContext))
      }, { prefix })
    }
  }
  // A factor's own devices (push: the authenticator app) sign their requests: no primary token.
  for (const strategy of STRATEGY_LIST) {
    if (strategy.deviceRoutes !== undefined) await app.register(strategy.deviceRoutes(routeContext), { prefix: `/v1/${strategy.factor.name}` })
  }
  await app.register(adminRoutes, {
    admin: createAdminService({
      factors, policies: app.policies, rememberedDevices: app.rememberedDevices, resetUser: app.resetUser, log,
      defaults: { rememberDays: config.DEFAULT_REMEMBER_DAYS, stepUpMaxAgeSec: config.STEP_UP_MAX_AGE_SEC },
    }),
  })
  await app.register(applicationRoutes, {
    applications: createApplicationsService({
      applications: app.applications, demo: config.DEMO_MODE, log,
      defaults: { rememberDays: config.DEFAULT_REMEMBER_DAYS, stepUpMaxAgeSec: config.STEP_UP_MAX_AGE_SEC },
    }),
  })

  await app.register(activityRoutes, { timeoutMs: config.FACTOR_TIMEOUT_MS })

  await app.ready()
  return app
}
