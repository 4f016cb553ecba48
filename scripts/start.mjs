// `npm start`: installs what is missing, builds, then runs NATS (JetStream), Redis and all six
// services in demo mode, with their data under .warden/. Ctrl-C stops everything.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { join } from 'node:path'
import { root, setup } from './setup.mjs'

setup()

const dataDir = join(root, '.warden')
mkdirSync(join(dataDir, 'nats'), { recursive: true })
mkdirSync(join(dataDir, 'redis'), { recursive: true })

// Keys made once per checkout and kept in .warden/ (git-ignored), so enrollments stay readable
// across restarts. Demo only: production takes them from a secret store.
const secretsFile = join(dataDir, 'demo-secrets.json')
const makers = {
  SECRET_KEYS: () => `demo1:${randomBytes(32).toString('base64')}`,
  PRIMARY_JWT_HS256_SECRET: () => randomBytes(32).toString('base64url'),
  REMEMBER_DEVICE_HMAC_KEY: () => randomBytes(32).toString('base64'),
  SMS_HMAC_KEY: () => randomBytes(32).toString('base64'),
  REPORT_LINK_KEY: () => randomBytes(32).toString('base64'),
}
const secrets = existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, 'utf8')) : {}
let added = false
for (const [name, make] of Object.entries(makers)) if (secrets[name] === undefined) { secrets[name] = make(); added = true }
if (added) writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 })

const portFree = (port) => new Promise((resolve) => {
  const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
})
const freePort = () => new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) }) })
const pick = async (preferred) => (await portFree(preferred)) ? preferred : freePort()
// A machine busy building or testing can take a while to start six services; give up after a
// minute, stopping what did start.
const waitPort = async (port, name, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => { const c = createConnection({ port, host: '127.0.0.1' }).once('connect', () => { c.destroy(); resolve(true) }).once('error', () => resolve(false)) })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  console.error(`✗ ${name} did not start on port ${port} within ${timeoutMs / 1000} s; stopping everything`)
  stop(1)
  await new Promise(() => {}) // stop() exits the process
}

const children = []
let stopping = false
function start (name, cmd, args, env = {}, cwd = root) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const prefix = `[${name}]`.padEnd(18)
  for (const stream of [child.stdout, child.stderr]) {
    let buf = ''
    stream.on('data', (chunk) => {
      buf += chunk.toString()
      const lines = buf.split('\n'); buf = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) console.log(prefix + line)
    })
  }
  child.on('exit', (code, signal) => {
    if (!stopping) { console.error(`${prefix}exited (${code ?? signal}); stopping everything`); stop(1) }
  })
  children.push(child)
  return child
}
function stop (code = 0) {
  if (stopping) return
  stopping = true
  for (const c of children.slice().reverse()) c.kill('SIGTERM')
  setTimeout(() => { for (const c of children) c.kill('SIGKILL'); process.exit(code) }, 5_000).unref()
  Promise.all(children.map((c) => new Promise((resolve) => c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', resolve)))).then(() => process.exit(code))
}
process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))

const natsPort = await pick(Number(process.env.NATS_PORT ?? 4222))
const redisPort = await pick(Number(process.env.REDIS_PORT ?? 6379))
const gatewayPort = Number(process.env.PORT ?? 8080)
if (!(await portFree(gatewayPort))) { console.error(`✗ port ${gatewayPort} is in use: set PORT to another one`); process.exit(1) }

start('nats', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(dataDir, 'nats')])
start('redis', 'redis-server', ['--bind', '127.0.0.1', '--port', String(redisPort), '--dir', join(dataDir, 'redis'), '--appendonly', 'yes', '--save', ''])
await Promise.all([waitPort(natsPort, 'nats-server'), waitPort(redisPort, 'redis-server')])

const common = {
  NATS_URL: `nats://127.0.0.1:${natsPort}`,
  REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  OPS_HOST: '127.0.0.1',
  SECRET_KEYS: secrets.SECRET_KEYS,
}
// The pages are served at localhost, not 127.0.0.1: a WebAuthn RP ID cannot be an IP address, and
// browsers treat http://localhost as a secure context, so security keys work there.
const publicUrl = `http://localhost:${gatewayPort}`
const serviceEnv = { 'factor-webauthn': { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: publicUrl } }
// SMS go to a fake Vonage on loopback (the official SDK path, with its restHost), never to
// Vonage: each message is printed here and listed at GET /v1/demo/outbox (the demo inbox).
const { startFakeVonage } = await import('../packages/testkit/dist/fake-vonage.js')
const vonage = await startFakeVonage({
  onMessage: (m) => console.log(`${'[demo inbox]'.padEnd(18)}SMS to +${m.to}: ${m.text.replace(/\s*\n+\s*/g, ' ')}`),
})
const extraEnv = {
  ...serviceEnv,
  'factor-sms': {
    SMS_HMAC_KEY: secrets.SMS_HMAC_KEY, VONAGE_API_KEY: vonage.apiKey, VONAGE_API_SECRET: vonage.apiSecret, VONAGE_REST_HOST: vonage.url, SMS_ORIGIN_HOST: 'localhost',
  },
}
// Each factor service's /healthz, /readyz and /metrics: <NAME>_OPS_PORT (e.g. FACTOR_TOTP_OPS_PORT)
// if set, else 9101… when free, else any free port, so a second stack on this machine still starts.
const services = ['factor-totp', 'factor-push', 'factor-sms', 'factor-webauthn', 'recovery']
const opsPorts = new Map()
for (const [i, s] of services.entries()) {
  const variable = `${s.toUpperCase().replaceAll('-', '_')}_OPS_PORT`
  const wanted = process.env[variable]
  if (wanted !== undefined && !(await portFree(Number(wanted)))) { console.error(`✗ port ${wanted} (${variable}) is in use`); process.exit(1) }
  const port = wanted !== undefined ? Number(wanted) : await pick(9101 + i)
  opsPorts.set(s, port)
  start(s, process.execPath, ['--import', './dist/telemetry.js', 'dist/main.js'], { ...common, ...extraEnv[s], OPS_PORT: String(port) }, join(root, 'services', s))
}
// Notifications, the activity feed, the audit trail and webhooks (demo: http and loopback receivers allowed).
const notifierOps = process.env.NOTIFIER_OPS_PORT !== undefined ? Number(process.env.NOTIFIER_OPS_PORT) : await pick(9106)
opsPorts.set('notifier', notifierOps)
start('notifier', process.execPath, ['--import', './dist/telemetry.js', 'dist/main.js'], {
  ...common, OPS_PORT: String(notifierOps), DEMO_MODE: 'true', REPORT_LINK_KEY: secrets.REPORT_LINK_KEY, PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
}, join(root, 'services', 'notifier'))
// The gateway serves its own /healthz, /readyz and /metrics on PORT.
start('auth-gateway', process.execPath, ['--import', './dist/telemetry.js', 'dist/main.js'], {
  ...common,
  PORT: String(gatewayPort),
  HOST: '127.0.0.1',
  DEMO_MODE: 'true',
  PRIMARY_JWT_HS256_SECRET: secrets.PRIMARY_JWT_HS256_SECRET,
  REMEMBER_DEVICE_HMAC_KEY: secrets.REMEMBER_DEVICE_HMAC_KEY,
  PUBLIC_URL: publicUrl,
  DEMO_OUTBOX_URL: vonage.url,
}, join(root, 'services', 'auth-gateway'))
await waitPort(gatewayPort, 'auth-gateway')

const url = `http://127.0.0.1:${gatewayPort}`
console.log(`
  Warden is running (demo mode). Ctrl-C stops everything.

  Demo app       ${publicUrl}/demo-app/   ← start here: an application that sends you to Warden and back
  Gateway        ${url}
  Hosted UI      ${publicUrl}/ui/   (sign in, set up 2FA, security keys and passkeys, settings)
  API docs       ${url}/docs   (OpenAPI: ${url}/openapi.json)
  JWKS           ${url}/.well-known/jwks.json
  Demo inbox     ${url}/v1/demo/outbox   (SMS codes; also printed here as [demo inbox])
  NATS           nats://127.0.0.1:${natsPort}    Redis redis://127.0.0.1:${redisPort}
  Data           .warden/

  Ops (/healthz, /readyz, /metrics)
    auth-gateway     ${url}
${[...opsPorts.keys()].map((s) => `    ${s.padEnd(17)}http://127.0.0.1:${opsPorts.get(s)}`).join('\n')}

  Demo users: any username with password "demo" (e.g. alice, bob); "admin" is an administrator.
    curl -s -X POST ${url}/v1/demo/login -H 'content-type: application/json' -d '{"username":"alice","password":"demo"}'

  Push: the authenticator app is the CLI (no FCM here: it polls). Pair it from the setup page's link, then approve:
    npm run authenticator -- pair 'warden://pair?...'   ·   npm run authenticator -- pending   ·   npm run authenticator -- approve <id> --number NN
`)
