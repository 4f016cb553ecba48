// Scratch (perf helper): the load generator, in its own process (node:http, keep-alive).
//   setup:   prepares USERS users through the REST API (demo login, enroll, confirm) into FILE
//   measure: closed loop with CONCURRENCY connections: all users start a sign-in, then all verify
//            with the current code; twice. Before each verify pass the users' used TOTP steps are
//            deleted from Redis (scratch only: it lets the same users verify again at once).
//   node bench/scratch/load.mjs <setup|measure:NAME> <gatewayUrl> <FILE> <USERS> <CONCURRENCY> <redisUrl>
import { readFileSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { root, totp } from '../lib.mjs'

const [mode, base, file, usersArg, concArg, redisUrl] = process.argv.slice(2)
const USERS = Number(usersArg); const CONCURRENCY = Number(concArg)
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
const url = new URL(base)
const step = () => Math.floor(Date.now() / 30_000)

function call (method, path, token, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname, port: url.port, path, method, agent,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
    }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const json = JSON.parse(Buffer.concat(chunks).toString())
        if (res.statusCode >= 400) reject(new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`))
        else resolve(json)
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

async function phase (name, items, job, conc = CONCURRENCY) {
  let next = 0; let errors = 0; const lat = []
  const t0 = performance.now()
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < items.length) {
      const item = items[next++]
      const s = performance.now()
      try { await job(item) } catch (err) { if (errors++ < 3) console.error(name, err.message) }
      lat.push(performance.now() - s)
    }
  }))
  const secs = (performance.now() - t0) / 1000
  lat.sort((a, b) => a - b)
  const q = (p) => Number(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2))
  const row = { name, n: items.length, errors, perSec: Math.round(items.length / secs), p50: q(0.5), p99: q(0.99) }
  console.log(JSON.stringify(row))
  return row
}

if (mode === 'setup') {
  const tag = Math.random().toString(36).slice(2, 8)
  const users = Array.from({ length: USERS }, (_, i) => ({ username: `p.${tag}.${i}` }))
  await phase('setup', users, async (u) => {
    u.token = (await call('POST', '/v1/demo/login', undefined, { username: u.username, password: 'demo' })).token
    const e = await call('POST', '/v1/me/totp', u.token)
    await call('POST', '/v1/me/totp/confirm', u.token, { enrollmentId: e.enrollmentId, code: totp(e.secret, step()) })
    u.secret = e.secret
  })
  writeFileSync(file, JSON.stringify(users.filter((u) => u.secret !== undefined)))
} else {
  const { Redis } = await import(join(root, 'packages/service-kit/node_modules/ioredis/built/index.js'))
  const redis = new Redis(redisUrl)
  const users = JSON.parse(readFileSync(file, 'utf8'))
  const name = mode.slice('measure:'.length)
  for (const pass of [1, 2]) {
    await phase(`${name} start#${pass}`, users, async (u) => {
      u.txn = (await call('POST', '/v1/signin', u.token, {})).transactionId
    })
    const keys = await redis.keys('totp:used:*')
    if (keys.length > 0) await redis.del(...keys)
    await phase(`${name} verify#${pass}`, users, async (u) => {
      const r = await call('POST', `/v1/signin/${u.txn}/verify`, u.token, { method: 'totp', code: totp(u.secret, step()) })
      if (r.status !== 'verified') throw new Error(`verify: ${JSON.stringify(r)}`)
    })
  }
  redis.disconnect()
}
agent.destroy()
