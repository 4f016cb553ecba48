// Benchmark: factor-totp over the real bus (nats-server + redis-server started by the test kit,
// the service in-process). Measures request latency and throughput of describe and verify as the
// gateway would call them, and appends the result to BENCHMARKS.md with the machine and date.
// Run after a build: `node bench/totp-bus.bench.mjs [users=500] [concurrency=32]`.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { root, run as runJobs, totp, writeResults } from './lib.mjs'

const dist = (p) => join(root, p)
const { startNats, startRedis } = await import(dist('packages/testkit/dist/index.js'))
const { startTotpService, loadTotpConfig } = await import(dist('services/factor-totp/dist/app.js'))
const { connectNats, generateKeyRingSpec } = await import(dist('packages/service-kit/dist/index.js'))
const { request } = await import(dist('packages/contracts/dist/nats/index.js'))
const { describeTotp, enrollTotp, confirmTotp, verifyTotp } = await import(dist('packages/contracts/dist/index.js'))

const USERS = Number(process.argv[2] ?? 500)
const CONCURRENCY = Number(process.argv[3] ?? 32)
const run = (name, jobs) => runJobs(name, jobs, CONCURRENCY)

const [nats, redis] = await Promise.all([startNats(), startRedis()])
const svc = await startTotpService(loadTotpConfig({ NATS_URL: nats.url, REDIS_URL: redis.url, SECRET_KEYS: generateKeyRingSpec(), OPS_HOST: '127.0.0.1', LOG_LEVEL: 'warn' }))
const nc = await connectNats(nats.url, 'bench')
const flowId = 'txn_' + randomBytes(32).toString('base64url')
try {
  const users = []
  const rows = []
  rows.push(await run('enroll + confirm', Array.from({ length: USERS }, (_, i) => async () => {
    const userId = `bench_${i}_${randomBytes(4).toString('hex')}`
    const e = await request(nc, enrollTotp, { userId, accountName: userId })
    await request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: totp(e.secret, Math.floor(Date.now() / 30_000)) })
    users.push({ userId, secret: e.secret })
  })))
  rows.push(await run('describe', users.flatMap((u) => Array.from({ length: 10 }, () => () => request(nc, describeTotp, { userId: u.userId })))))
  // Wrong codes are the expensive path (window plus the ±10 min clock-skew search); 5 per user stays under the lock.
  rows.push(await run('verify (wrong code)', users.flatMap((u) => Array.from({ length: 5 }, () => () => request(nc, verifyTotp, { userId: u.userId, flowId, code: '000000' })))))
  rows.push(await run('verify (valid code, T+1)', users.map((u) => () => request(nc, verifyTotp, { userId: u.userId, flowId, code: totp(u.secret, Math.floor(Date.now() / 30_000) + 1) }))))

  writeResults('factor-totp over the bus', `nats-server and redis-server on loopback, service in-process. ${USERS} users, concurrency ${CONCURRENCY}. Command: \`node bench/totp-bus.bench.mjs ${USERS} ${CONCURRENCY}\`.`, rows)
} finally {
  await nc.close()
  await svc.stop()
  await Promise.all([nats.stop(), redis.stop()])
}
