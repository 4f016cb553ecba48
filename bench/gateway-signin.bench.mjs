// Benchmark: the sign-in path through the gateway's REST API, end to end: HTTP → gateway →
// NATS → factor-totp (in-process) and the four other factor services (as processes, answering
// describe) → Redis / JetStream KV, all real, on loopback. Appends the result to BENCHMARKS.md
// with the machine and date. Run after a build (npm test builds):
//   node bench/gateway-signin.bench.mjs [users=200] [concurrency=16]
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { root, run as runJobs, totp, writeResults } from './lib.mjs'

const dist = (p) => join(root, p)
const { startNats, startRedis, startServiceProcess } = await import(dist('packages/testkit/dist/index.js'))
const { startTotpService, loadTotpConfig } = await import(dist('services/factor-totp/dist/app.js'))
const { generateKeyRingSpec } = await import(dist('packages/service-kit/dist/index.js'))
const { buildApp } = await import(dist('services/auth-gateway/dist/app.js'))
const { loadGatewayConfig } = await import(dist('services/auth-gateway/dist/config.js'))

const USERS = Number(process.argv[2] ?? 200)
const CONCURRENCY = Number(process.argv[3] ?? 16)
const run = (name, jobs) => runJobs(name, jobs, CONCURRENCY)

const step = () => Math.floor(Date.now() / 30_000)

const teardowns = []
const kit = { teardown: (fn) => { teardowns.push(fn) } }
const [nats, redis] = await Promise.all([startNats(), startRedis()])
const common = { NATS_URL: nats.url, REDIS_URL: redis.url, LOG_LEVEL: 'warn', OPS_HOST: '127.0.0.1' }
const totpSvc = await startTotpService(loadTotpConfig({ ...common, SECRET_KEYS: generateKeyRingSpec(), OPS_PORT: '0' }))
await Promise.all(['factor-push', 'factor-sms', 'factor-webauthn', 'recovery'].map((n) => startServiceProcess(kit, n, common)))
const app = await buildApp(loadGatewayConfig({
  ...common, DEMO_MODE: 'true', PRIMARY_JWT_HS256_SECRET: randomBytes(32).toString('base64url'),
  RATE_LIMIT_IP_PER_MIN: '1000000', RATE_LIMIT_TRANSACTION_PER_MIN: '1000000', RATE_LIMIT_DEMO_LOGIN_PER_MIN: '1000000',
}))
const base = await app.listen({ port: 0, host: '127.0.0.1' })

async function call (method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const json = await res.json()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

try {
  const users = []
  await run('setup: demo login + enroll + confirm', Array.from({ length: USERS }, (_, i) => async () => {
    const username = `bench.${i}.${randomBytes(3).toString('hex')}`
    const { token } = await call('POST', '/v1/demo/login', undefined, { username, password: 'demo' })
    const e = await call('POST', '/v1/me/totp', token)
    await call('POST', '/v1/me/totp/confirm', token, { enrollmentId: e.enrollmentId, code: totp(e.secret, step()) })
    users.push({ token, secret: e.secret, confirmedStep: step() })
  }))
  const rows = []
  rows.push(await run('GET /.well-known/jwks.json (baseline)', users.map(() => () => call('GET', '/.well-known/jwks.json'))))
  rows.push(await run('POST /v1/signin (challenge: 5 describes)', users.map((u) => async () => {
    u.txn = (await call('POST', '/v1/signin', u.token, {})).transactionId
  })))
  rows.push(await run('POST /v1/signin/{id}/verify (totp, remember)', users.map((u) => async () => {
    const r = await call('POST', `/v1/signin/${u.txn}/verify`, u.token, { method: 'totp', code: totp(u.secret, u.confirmedStep + 1), rememberDevice: true })
    if (r.status !== 'verified') throw new Error(`verify: ${JSON.stringify(r)}`)
    u.rememberToken = r.rememberToken
  })))
  rows.push(await run('POST /v1/signin (remembered device: skipped)', users.map((u) => async () => {
    const r = await call('POST', '/v1/signin', u.token, { rememberToken: u.rememberToken })
    if (r.status !== 'skipped') throw new Error(`skip: ${JSON.stringify(r)}`)
    u.rememberToken = r.rememberToken
  })))

  writeResults('Sign-in through the gateway (HTTP, end to end)', `nats-server and redis-server on loopback; gateway and factor-totp in one process, the other four factor services as processes; HTTP client in the same process. ${USERS} users, concurrency ${CONCURRENCY}. Command: \`node bench/gateway-signin.bench.mjs ${USERS} ${CONCURRENCY}\`.`, rows)
} finally {
  await app.close()
  await totpSvc.stop()
  for (const fn of teardowns.reverse()) await fn()
  await Promise.all([nats.stop(), redis.stop()])
}
