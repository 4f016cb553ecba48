// The stack as `npm start` runs it (scripts/start.mjs): nats-server and redis-server on free
// ports, then every service as its own process (testkit's startServiceProcess), with keys made
// for this run only. The gateway's rate limits are raised (the load comes from one IP), and so are
// the per-user and per-number limits of push and SMS (a benchmark user signs in many times a
// minute); no security check is turned off.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fromRoot, importDist } from './paths.mjs'

const { startNats, startRedis, startServiceProcess, startFakeVonage } = await importDist('packages/testkit/dist/index.js')
const { generateKeyRingSpec } = await importDist('packages/service-kit/dist/index.js')

export const FACTOR_SERVICES = ['factor-push', 'factor-sms', 'factor-webauthn', 'recovery']
/** The origin the benchmark's WebAuthn client claims (an RP ID cannot be an IP address). */
export const WEBAUTHN_ORIGIN = 'http://localhost:8080'
/** Resident memory of a process in bytes (VmRSS), or NaN once it is gone. */
export function rssOf (pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? NaN : Number(m[1]) * 1024
  } catch { return NaN }
}

/** Node flags that make a process write its V8 CPU profile to `dir/<label>.cpuprofile` when it exits. */
export const cpuProfileArgs = (dir, label) => ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${label}.cpuprofile`]

/**
 * Starts everything. `totpReplicas` factor-totp processes join one queue group. `vonage` is a
 * running fake Vonage ({ url, apiKey, apiSecret }, the load generator's, which reads the codes);
 * without it the stack starts its own.
 */
export async function startStack ({ totpReplicas = 1, logLevel = 'warn', vonage: givenVonage } = {}) {
  const teardowns = []
  const kit = { teardown: (fn) => { teardowns.push(fn) } }
  const stop = async () => {
    for (const fn of teardowns.splice(0).reverse()) {
      try { await fn() } catch (err) { console.error('bench: teardown failed:', err.message) }
    }
  }
  try {
    const [nats, redis] = await Promise.all([startNats(), startRedis()])
    teardowns.push(() => Promise.all([nats.stop(), redis.stop()]))
    let vonage = givenVonage
    if (vonage === undefined) {
      const own = await startFakeVonage()
      teardowns.push(() => own.close())
      vonage = own
    }
    const secrets = {
      SECRET_KEYS: generateKeyRingSpec(),
      PRIMARY_JWT_HS256_SECRET: randomBytes(32).toString('base64url'),
      REMEMBER_DEVICE_HMAC_KEY: randomBytes(32).toString('base64'),
      SMS_HMAC_KEY: randomBytes(32).toString('base64'),
      REPORT_LINK_KEY: randomBytes(32).toString('base64'),
    }
    const common = { NATS_URL: nats.url, REDIS_URL: redis.url, LOG_LEVEL: logLevel, SECRET_KEYS: secrets.SECRET_KEYS }
    const unlimited = '1000000'
    const extraEnv = {
      'factor-webauthn': { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: WEBAUTHN_ORIGIN },
      // One open push per user stays (it is no limit of numbers); the window allows a push a second.
      'factor-push': { PUSH_MAX_PER_WINDOW: '100', PUSH_WINDOW_SEC: '60' },
      'factor-sms': {
        SMS_HMAC_KEY: secrets.SMS_HMAC_KEY, VONAGE_API_KEY: vonage.apiKey, VONAGE_API_SECRET: vonage.apiSecret, VONAGE_REST_HOST: vonage.url, SMS_ORIGIN_HOST: 'localhost',
        // Budgets and breakers sized for one person or one abuser; the bench is neither. P5 leaves
        // 10,000 codes unused, which the conversion breaker would take for SMS pumping.
        SMS_ACCOUNT_MAX_PER_DAY: unlimited, SMS_PHONE_MAX_PER_HOUR: unlimited, SMS_IP_MAX_PER_HOUR: unlimited, SMS_GLOBAL_MAX_PER_HOUR: unlimited,
        SMS_RESEND_COOLDOWN_SEC: '0', SMS_CONVERSION_MIN_SENT: unlimited,
      },
    }
    const processes = []
    /** Starts a service; the returned record is updated in place by restart(). */
    const launch = async (label, name, env, nodeArgs = []) => {
      const svc = await startServiceProcess(kit, name, env, { nodeArgs })
      const proc = { label, name, env, opsPort: svc.opsPort, pid: svc.pid, stop: svc.stop, output: svc.output }
      processes.push(proc)
      return proc
    }
    // One at a time: six Node processes loading at once on two cores time each other out.
    const totp = []
    for (let i = 0; i < totpReplicas; i++) totp.push(await launch(totpReplicas > 1 ? `factor-totp#${i + 1}` : 'factor-totp', 'factor-totp', { ...common }))
    for (const name of FACTOR_SERVICES) await launch(name, name, { ...common, ...extraEnv[name] })
    await launch('notifier', 'notifier', { ...common, DEMO_MODE: 'true', REPORT_LINK_KEY: secrets.REPORT_LINK_KEY, PUBLIC_URL: 'http://127.0.0.1:8080' })
    const gateway = await launch('auth-gateway', 'auth-gateway', {
      ...common,
      HOST: '127.0.0.1',
      DEMO_MODE: 'true',
      PRIMARY_JWT_HS256_SECRET: secrets.PRIMARY_JWT_HS256_SECRET,
      REMEMBER_DEVICE_HMAC_KEY: secrets.REMEMBER_DEVICE_HMAC_KEY,
      DEMO_OUTBOX_URL: vonage.url,
      RATE_LIMIT_IP_PER_MIN: unlimited,
      RATE_LIMIT_TRANSACTION_PER_MIN: unlimited,
      RATE_LIMIT_DEMO_LOGIN_PER_MIN: unlimited,
    })
    return {
      nats, redis, vonage, secrets, common, processes, totp, gateway,
      /** The gateway's URL (a restart moves it to another port). */
      get baseUrl () { return `http://127.0.0.1:${gateway.opsPort}` },
      /**
       * Stops a process (SIGTERM: the graceful stop, which writes a --cpu-prof profile) and starts
       * it again with the same environment and `nodeArgs`; its record keeps its identity.
       */
      restart: async (proc, nodeArgs = []) => {
        await proc.stop()
        processes.splice(processes.indexOf(proc), 1)
        const fresh = await launch(proc.label, proc.name, proc.env, nodeArgs)
        processes.splice(processes.indexOf(fresh), 1, proc)
        Object.assign(proc, { opsPort: fresh.opsPort, pid: fresh.pid, stop: fresh.stop, output: fresh.output })
        return proc
      },
      /** Adds one more factor-totp replica to the queue group. */
      addTotpReplica: async () => {
        const proc = await launch(`factor-totp#${totp.length + 1}`, 'factor-totp', { ...common })
        totp.push(proc)
        const stopProcess = proc.stop
        // Once stopped it is no longer part of the stack (RSS samples, CPU accounting).
        proc.stop = async () => {
          await stopProcess()
          processes.splice(processes.indexOf(proc), 1)
          totp.splice(totp.indexOf(proc), 1)
        }
        return proc
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * Starts in-process-server.mjs (P1 without the bus) as its own process on the stack's NATS and
 * Redis, with the gateway's and factor-totp's keys, so the same users sign in on it.
 */
export async function startInProcessServer (stack) {
  const { spawn } = await import('node:child_process')
  const env = {
    PATH: process.env.PATH ?? '', ...stack.common, HOST: '127.0.0.1', DEMO_MODE: 'true', OPS_HOST: '127.0.0.1',
    PRIMARY_JWT_HS256_SECRET: stack.secrets.PRIMARY_JWT_HS256_SECRET, REMEMBER_DEVICE_HMAC_KEY: stack.secrets.REMEMBER_DEVICE_HMAC_KEY,
  }
  const child = spawn(process.execPath, [fromRoot('bench/harness/in-process-server.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stderr.on('data', (c) => { out += c.toString() })
  const port = await new Promise((resolve, reject) => {
    let buf = ''
    child.stdout.on('data', (c) => {
      buf += c.toString()
      const m = /\{"port":(\d+)\}/.exec(buf)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code) => { reject(new Error(`in-process server exited (${code}): ${out.slice(-2000)}`)) })
    setTimeout(() => { reject(new Error(`in-process server did not start in 60 s: ${out.slice(-2000)}`)) }, 60_000).unref()
  })
  return {
    pid: child.pid,
    baseUrl: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => { resolve() })
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
    }),
  }
}
