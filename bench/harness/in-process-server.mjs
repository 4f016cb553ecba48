// P1's other half: the same sign-in work in ONE process, without the bus. A Fastify server whose
// two routes run the gateway's own sign-in use cases (createSigninService, its Redis flow store,
// token and store plugins, all from services/auth-gateway/dist) on a factor client that calls
// factor-totp's service.ts (services/factor-totp/dist) in this process, with the same Redis and
// JetStream KV adapters factor-totp builds in runFactorService. What is left out is exactly the
// bus: the NATS request/reply hops, their validation at both ends, and the four other factor
// services' describe calls (their users here have no such factor; this process answers "not
// enrolled" for them without I/O, so the bus side pays four extra round trips the split costs).
// Run as its own process; prints `{"port":N}` once listening. Env: as the gateway and factor-totp.
import { importDist, importFrom } from './paths.mjs'

const Fastify = (await importFrom('services/auth-gateway', 'fastify')).default
const gw = (p) => importDist(`services/auth-gateway/dist/${p}`)
const [{ loadGatewayConfig }, nats, redis, ops, stores, tokens, errors, { createSigninService }, { createRedisFlowStore }, { STRATEGIES, ENROLLABLE }, { createAudit }, { fromFactor }] = await Promise.all([
  gw('config.js'), gw('plugins/nats.js'), gw('plugins/redis.js'), gw('plugins/ops.js'), gw('plugins/stores.js'), gw('plugins/tokens.js'),
  gw('plugins/errors.js'), gw('signin.js'), gw('adapters/flow-store.js'), gw('factors/index.js'), gw('audit.js'), gw('errors.js'),
])
const { createSigninEvents } = await gw('adapters/signin-events.js')
const kit = await importDist('packages/service-kit/dist/index.js')
const { createKvStoreFactory } = await importDist('packages/store/dist/index.js')
const { describeTotp, verifyTotp, FACTORS } = await importDist('packages/contracts/dist/index.js')
const { loadTotpConfig } = await importDist('services/factor-totp/dist/config.js')
const totpDist = (p) => importDist(`services/factor-totp/dist/${p}`)
const [{ createTotpService }, { createKeyRingCipher }, { createOtplibTotp }, { createQrcodeSvgRenderer }, { createRandomIds }, { createRedisUsedStepGuard }, { createStoreEnrollmentStore, TOTP_BUCKET }] = await Promise.all([
  totpDist('service.js'), totpDist('adapters/key-ring-cipher.js'), totpDist('adapters/otplib-totp.js'), totpDist('adapters/qrcode-svg.js'),
  totpDist('adapters/random-ids.js'), totpDist('adapters/redis-used-step-guard.js'), totpDist('adapters/store-enrollment-store.js'),
])

const config = loadGatewayConfig({ ...process.env, PORT: '0' })
const totpConfig = loadTotpConfig(process.env)
const clock = kit.systemClock
const log = kit.createLogger({ name: 'bench-in-process', level: config.LOG_LEVEL })

const app = Fastify({ loggerInstance: log, bodyLimit: 16 * 1024, requestIdHeader: false })
await app.register(errors.default)
await app.register(nats.default, { servers: config.NATS_URL })
await app.register(redis.default, { url: config.REDIS_URL })
await app.register(ops.default)
await app.register(stores.default, { config, clock })
await app.register(tokens.default, { config, clock })
await app.after()

// factor-totp as runFactorService builds it (services/factor-totp/src/app.ts), minus serve().
const storeFactory = createKvStoreFactory(app.nats, { replicas: totpConfig.KV_REPLICAS })
const events = kit.createPublisherEventSink(kit.createEventPublisher(app.nats, clock), log)
const limits = kit.attemptLimitsFrom(totpConfig, 'TOTP')
const gate = (counter, announceLocks, suspendedHint) => kit.createAttemptGate({
  factor: 'totp',
  limiter: kit.createRedisAttemptLimiter(app.redis, { prefix: counter, clock, limits }),
  clock,
  events: announceLocks ? events : undefined,
  suspendedHint,
})
const totp = createTotpService({
  enrollments: createStoreEnrollmentStore(await storeFactory.open(TOTP_BUCKET)),
  usedSteps: createRedisUsedStepGuard(app.redis, { prefix: 'totp', signInCounter: 'totp' }),
  verifyOutcomes: kit.createRedisAdmittingLedger(app.redis, { prefix: 'totp', attempts: { prefix: 'totp', limits, clock } }),
  totp: createOtplibTotp(),
  cipher: createKeyRingCipher(kit.parseKeyRing(totpConfig.SECRET_KEYS, totpConfig.SECRET_ACTIVE_KEY_ID)),
  signIns: gate('totp', true, 'enroll the authenticator app again'),
  confirmations: gate('totp-confirm', false, undefined),
  clock,
  events,
  qr: createQrcodeSvgRenderer(),
  ids: createRandomIds(),
  settings: { issuer: totpConfig.TOTP_ISSUER, enrollmentTtlMs: totpConfig.TOTP_ENROLLMENT_TTL_SEC * 1000 },
})

const local = new Map([[describeTotp.subject, (b) => totp.describe(b)], [verifyTotp.subject, (b) => totp.verify(b)]])
/** The gateway's FactorClient, answered in this process. */
const factors = {
  async call (endpoint, body) {
    const handler = local.get(endpoint.subject)
    if (handler === undefined) throw new Error(`not served in process: ${endpoint.subject}`)
    try { return await handler(body) } catch (err) { throw fromFactor(err) }
  },
  describeAll: async (userId, only = FACTORS.map((f) => f.name)) => Promise.all(FACTORS.filter((f) => only.includes(f.name)).map(async (f) =>
    f.name === 'totp' ? { ...await totp.describe({ userId }), available: true } : { factor: f.name, enrolled: false, items: [], available: true })),
}

const signin = createSigninService({
  factors, flows: createRedisFlowStore(app.redis, clock, { graceMs: 10 * 60_000 }), tokens: app.tokens, clock, log, metrics: app.metrics,
  ttlMs: config.SIGNIN_TTL_SEC * 1000, policies: app.policies, rememberedDevices: app.rememberedDevices, risk: app.risk, resetUser: app.resetUser,
  attemptKey: app.attemptKeys, strategies: STRATEGIES, enrollable: ENROLLABLE, revocation: app.revocation, audit: createAudit(log), userLocks: app.userLocks,
  events: createSigninEvents({ publisher: app.events, redis: app.redis, log }),
})

// The gateway's routes validate the body with a schema; these two take the same bodies.
app.post('/v1/signin', async (req) => signin.start(await app.tokens.verifyPrimary(req), { purpose: 'signin', requestIp: req.ip }))
app.post('/v1/signin/:transactionId/verify', async (req) => {
  const body = req.body ?? {}
  if (body.method !== 'totp' || typeof body.code !== 'string') throw Object.assign(new Error('bad body'), { statusCode: 400 })
  return signin.verify(await app.tokens.verifyPrimary(req), req.params.transactionId, { method: 'totp', code: body.code }, { peerIp: req.ip })
})

const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(JSON.stringify({ port: Number(new URL(address).port) }) + '\n')
const close = async () => { await app.close(); process.exit(0) }
process.on('SIGTERM', close)
process.on('SIGINT', close)
