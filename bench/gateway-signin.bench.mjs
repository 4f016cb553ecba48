// Benchmark: the sign-in path through the gateway's REST API, end to end: HTTP → gateway →
// NATS → factor-totp (in-process) and the four other factor services (as processes, answering
// describe) → Redis / JetStream KV, all real, on loopback. Appends the result to BENCHMARKS.md
// with the machine and date. Run after a build (npm test builds):
//   node bench/gateway-signin.bench.mjs [users=200] [concurrency=16]
import { createHmac, randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = (p) => join(root, p)
const { startNats, startRedis, startServiceProcess } = await import(dist('packages/testkit/dist/index.js'))
const { startTotpService, loadTotpConfig } = await import(dist('services/factor-totp/dist/app.js'))
const { generateKeyRingSpec } = await import(dist('packages/service-kit/dist/index.js'))
const { buildApp } = await import(dist('services/auth-gateway/dist/app.js'))
const { loadGatewayConfig } = await import(dist('services/auth-gateway/dist/config.js'))

const USERS = Number(process.argv[2] ?? 200)
const CONCURRENCY = Number(process.argv[3] ?? 16)

function totp (secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secret) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))
  const msg = Buffer.alloc(8); msg.writeBigUInt64BE(BigInt(step))
  const h = createHmac('sha1', key).update(msg).digest()
  const o = h[h.length - 1] & 0xf
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}
const step = () => Math.floor(Date.now() / 30_000)

async function run (name, jobs) {
  const lat = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]
      const s = performance.now()
      await job()
      lat.push(performance.now() - s)
    }
  }))
  const secs = (performance.now() - t0) / 1000
  lat.sort((a, b) => a - b)
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2)
  const row = { name, requests: lat.length, perSec: Math.round(lat.length / secs), p50: q(0.5), p95: q(0.95), p99: q(0.99) }
  console.log(row)
  return row
}

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

  const file = join(root, 'BENCHMARKS.md')
  if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nWritten by the scripts in `bench/`. Numbers are from one machine; compare runs on the same machine only.\n')
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  appendFileSync(file, [
    '', `## Sign-in through the gateway (HTTP, end to end) — ${new Date().toISOString().slice(0, 10)}`, '',
    `Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. nats-server and redis-server on loopback; gateway and factor-totp in one process, the other four factor services as processes; HTTP client in the same process. ${USERS} users, concurrency ${CONCURRENCY}. Command: \`node bench/gateway-signin.bench.mjs ${USERS} ${CONCURRENCY}\`.`, '',
    '| operation | requests | req/s | p50 ms | p95 ms | p99 ms |', '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.requests} | ${r.perSec} | ${r.p50} | ${r.p95} | ${r.p99} |`), '',
  ].join('\n'))
  console.log('appended to BENCHMARKS.md')
} finally {
  await app.close()
  await totpSvc.stop()
  for (const fn of teardowns.reverse()) await fn()
  await Promise.all([nats.stop(), redis.stop()])
}
