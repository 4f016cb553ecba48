// Benchmark: factor-totp over the real bus (nats-server + redis-server started by the test kit,
// the service in-process). Measures request latency and throughput of describe and verify as the
// gateway would call them, and appends the result to BENCHMARKS.md with the machine and date.
// Run after a build: `node bench/totp-bus.bench.mjs [users=500] [concurrency=32]`.
import { createHmac, randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = (p) => join(root, p)
const { startNats, startRedis } = await import(dist('packages/testkit/dist/index.js'))
const { startTotpService, loadTotpConfig } = await import(dist('services/factor-totp/dist/app.js'))
const { connectNats, generateKeyRingSpec } = await import(dist('packages/service-kit/dist/index.js'))
const { request } = await import(dist('packages/contracts/dist/nats/index.js'))
const { describeTotp, enrollTotp, confirmTotp, verifyTotp } = await import(dist('packages/contracts/dist/index.js'))

const USERS = Number(process.argv[2] ?? 500)
const CONCURRENCY = Number(process.argv[3] ?? 32)

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

  const file = join(root, 'BENCHMARKS.md')
  if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nWritten by the scripts in `bench/`. Numbers are from one machine; compare runs on the same machine only.\n')
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  appendFileSync(file, [
    '', `## factor-totp over the bus — ${new Date().toISOString().slice(0, 10)}`, '',
    `Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, nats-server and redis-server on loopback, service in-process. ${USERS} users, concurrency ${CONCURRENCY}. Command: \`node bench/totp-bus.bench.mjs ${USERS} ${CONCURRENCY}\`.`, '',
    '| operation | requests | req/s | p50 ms | p95 ms | p99 ms |', '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.requests} | ${r.perSec} | ${r.p50} | ${r.p95} | ${r.p99} |`), '',
  ].join('\n'))
  console.log('appended to BENCHMARKS.md')
} finally {
  await nc.close()
  await svc.stop()
  await Promise.all([nats.stop(), redis.stop()])
}
