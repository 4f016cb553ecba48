// Scratch (perf helper): the deployable shape for profiling and A/B-measuring the sign-in path.
// Real nats-server and redis-server (testkit), the six services as processes (`node --import
// ./dist/telemetry.js dist/main.js`, as npm start runs them), the load from a separate process
// (load.mjs). Users are prepared once; then, for each round and each variant, the services are
// restarted on that variant's build and measured (interleaved A/B on a shared machine).
//   node bench/scratch/stack.mjs [--users 3000] [--conc 32] [--rounds 3] [--prof DIR] [--variants dirA,dirB]
// A variant is a folder made by snapshot.sh (the dist/ folders of one build); without
// --variants the current build is measured. With --prof, the gateway and factor-totp run under
// `node --cpu-prof` (measured phases only) and write DIR/<variant>-<round>-<service>.cpuprofile.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { root } from '../lib.mjs'

const { values: opt } = parseArgs({ options: { users: { type: 'string', default: '3000' }, conc: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' }, prof: { type: 'string' }, variants: { type: 'string' } } })
const profDir = opt.prof === undefined ? undefined : resolve(opt.prof)
if (profDir) mkdirSync(profDir, { recursive: true })
const variants = opt.variants === undefined ? [undefined] : opt.variants.split(',').map((v) => resolve(v))
const usersFile = `/tmp/perf-users-${process.pid}.json`

const { startNats, startRedis, freePort } = await import(join(root, 'packages/testkit/dist/index.js'))
const [nats, redis] = await Promise.all([startNats(), startRedis()])
const common = {
  PATH: process.env.PATH, NATS_URL: nats.url, REDIS_URL: redis.url, LOG_LEVEL: 'warn', OPS_HOST: '127.0.0.1',
  SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`, SMS_HMAC_KEY: randomBytes(32).toString('base64'),
  VONAGE_API_KEY: 'unused', VONAGE_API_SECRET: 'unused',
}
const gatewayEnv = {
  HOST: '127.0.0.1', DEMO_MODE: 'true', PRIMARY_JWT_HS256_SECRET: randomBytes(32).toString('base64url'),
  REMEMBER_DEVICE_HMAC_KEY: randomBytes(32).toString('base64'),
  RATE_LIMIT_IP_PER_MIN: '1000000', RATE_LIMIT_TRANSACTION_PER_MIN: '1000000', RATE_LIMIT_DEMO_LOGIN_PER_MIN: '1000000',
  // The machine is shared: deadlines with room, so a busy neighbour shows as latency, not as 503s.
  DESCRIBE_TIMEOUT_MS: '3000', FACTOR_TIMEOUT_MS: '5000', STORE_TIMEOUT_MS: '3000',
}
const SERVICES = ['factor-totp', 'factor-push', 'factor-sms', 'factor-webauthn', 'recovery', 'auth-gateway']

let children = []
const pids = new Map()
/** CPU time (user + system, ms) a process has used so far: less sensitive to a busy neighbour than throughput. */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}
const cpuOf = () => Object.fromEntries([...pids].map(([n, pid]) => [n, cpuMs(pid)]))
async function startService (name, prof) {
  const port = await freePort()
  const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${prof}-${name}.cpuprofile`] : []
  const child = spawn(process.execPath, [...flags, '--import', './dist/telemetry.js', 'dist/main.js'], {
    cwd: join(root, 'services', name), env: { ...common, ...(name === 'auth-gateway' ? gatewayEnv : {}), OPS_PORT: String(port), PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.push(child)
  pids.set(name, child.pid)
  for (let i = 0; i < 900; i++) {
    if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) return port
    if (child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${name} did not start`)
}
async function stopServices () {
  await Promise.all(children.map((c) => new Promise((r) => { if (c.exitCode !== null) return r(); c.once('exit', r); c.kill('SIGTERM') })))
  children = []
}
async function startAll (prof) {
  const ports = await Promise.all(SERVICES.slice(0, -1).map((n) => startService(n, prof && n === 'factor-totp' ? prof : undefined)))
  return startService('auth-gateway', prof)
}
const load = (gw, mode) => new Promise((resolve, reject) => {
  const p = spawn(process.execPath, [join(root, 'bench/scratch/load.mjs'), mode, `http://127.0.0.1:${gw}`, usersFile, opt.users, opt.conc, redis.url], { stdio: 'inherit' })
  p.once('exit', (code) => code === 0 ? resolve() : reject(new Error(`load ${mode} exited ${code}`)))
})

try {
  await load(await startAll(), 'setup')
  for (let round = 1; round <= Number(opt.rounds); round++) {
    for (const v of variants) {
      await stopServices()
      if (v !== undefined) execFileSync('sh', [join(root, 'bench/scratch/snapshot.sh'), 'restore', v], { stdio: 'inherit' })
      const name = `${v === undefined ? 'current' : basename(v)}-${round}`
      console.log(`--- ${name} (load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')})`)
      const gw = await startAll(profDir ? name : undefined)
      const before = cpuOf()
      await load(gw, `measure:${name}`)
      const after = cpuOf()
      // Two passes of (start + verify) for every user: CPU ms per sign-in (start + verify).
      const per = (n) => ((after[n] - before[n]) / (2 * Number(opt.users))).toFixed(2)
      const all = Object.keys(after).reduce((a, n) => a + after[n] - before[n], 0)
      console.log(JSON.stringify({ name, cpuMsPerSignin: { gateway: per('auth-gateway'), totp: per('factor-totp'), allServices: (all / (2 * Number(opt.users))).toFixed(2) } }))
    }
  }
} finally {
  await stopServices()
  await Promise.all([nats.stop(), redis.stop()])
}
