import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A server process started for a test, on a free loopback port with its own temp folder. */
export interface RunningServer {
  readonly url: string
  readonly port: number
  readonly dir: string
  /** Kill the process (SIGKILL if it does not exit in 2 s) and remove its folder. */
  stop: () => Promise<void>
  /** Stop the process but keep its data folder: for tests of a service going away. */
  kill: () => Promise<void>
  /**
   * Freeze the process (SIGSTOP): its port stays open and accepts connections, but nothing
   * answers, like a server that hangs. `resume()` (SIGCONT) lets it go on where it was.
   */
  pause: () => void
  resume: () => void
}

/** The smallest slice of a tap test the kit needs, so it does not depend on tap itself. */
export interface Teardownable { teardown: (fn: () => unknown) => void }

const APT_PACKAGE: Record<string, string> = { 'nats-server': 'nats-server', 'redis-server': 'redis-server' }

function requireBinary (bin: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' })
  if (r.status !== 0) {
    throw new Error(`${bin} is not installed. Install it with: apt-get install -y ${APT_PACKAGE[bin] ?? bin} (npm test does this for you on Debian/Ubuntu)`)
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => { resolve(port) })
    })
  })
}

/** A user id nobody else in this test run uses, so test files can run in parallel. */
export function uniqueUserId (prefix = 'usr'): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`
}

async function waitFor (what: string, probe: () => Promise<boolean>, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} while starting`)
    if (await probe()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`${what} did not become ready in ${timeoutMs} ms`)
}

/** Sends `send` to the port and resolves true if the answer contains `expect`. */
async function tcpProbe (port: number, send: string, expect: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port })
    let data = ''
    const done = (ok: boolean): void => { sock.destroy(); resolve(ok) }
    sock.setTimeout(500, () => { done(false) })
    sock.on('error', () => { done(false) })
    sock.on('connect', () => { if (send !== '') sock.write(send) })
    sock.on('data', (chunk) => { data += chunk.toString(); if (data.includes(expect)) done(true) })
  })
}

function track (child: ChildProcess, dir: string, port: number, url: string): RunningServer {
  let exited = child.exitCode !== null
  child.once('exit', () => { exited = true })
  const kill = async (): Promise<void> => {
    if (exited) return
    const gone = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
    child.kill('SIGTERM')
    // A paused process only handles SIGTERM once it runs again.
    child.kill('SIGCONT')
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
    await gone
    clearTimeout(timer)
  }
  return {
    url, port, dir, kill,
    stop: async () => { await kill(); rmSync(dir, { recursive: true, force: true }) },
    pause: () => { if (!exited) child.kill('SIGSTOP') },
    resume: () => { if (!exited) child.kill('SIGCONT') },
  }
}

async function startWithRetry (start: () => Promise<RunningServer>): Promise<RunningServer> {
  // The free port can be taken between the probe and the bind: try a few ports.
  let last: unknown
  for (let i = 0; i < 3; i++) {
    try { return await start() } catch (err) { last = err }
  }
  throw last
}

/** Starts `nats-server -js` on a free port with a temp store directory. */
export async function startNats (): Promise<RunningServer> {
  requireBinary('nats-server')
  return startWithRetry(async () => {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'warden-nats-'))
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '-l', join(dir, 'nats.log')], { stdio: 'ignore' })
    const server = track(child, dir, port, `nats://127.0.0.1:${port}`)
    try {
      await waitFor('nats-server', () => tcpProbe(port, '', 'INFO'), child)
    } catch (err) { await server.stop(); throw err }
    return server
  })
}

/** Starts `redis-server` on a free port, without persistence, in a temp directory. */
export async function startRedis (): Promise<RunningServer> {
  requireBinary('redis-server')
  return startWithRetry(async () => {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'warden-redis-'))
    const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', join(dir, 'redis.log')], { stdio: 'ignore' })
    const server = track(child, dir, port, `redis://127.0.0.1:${port}`)
    try {
      await waitFor('redis-server', () => tcpProbe(port, 'PING\r\n', '+PONG'), child)
    } catch (err) { await server.stop(); throw err }
    return server
  })
}

export interface Infra { nats: RunningServer, redis: RunningServer }

/** Starts NATS and Redis for one test file; both stop when the test `t` ends. */
export async function startInfra (t: Teardownable): Promise<Infra> {
  const [nats, redis] = await Promise.all([startNats(), startRedis()])
  t.teardown(async () => { await Promise.all([nats.stop(), redis.stop()]) })
  return { nats, redis }
}

/** Collects pino's JSON lines in memory: for tests that check what was (not) logged. */
export function captureLog (): { stream: { write: (line: string) => void }, lines: () => string[], text: () => string } {
  const lines: string[] = []
  return {
    stream: { write: (line: string) => { lines.push(line) } },
    lines: () => lines,
    text: () => lines.join(''),
  }
}

/**
 * Waits for an effect that happens elsewhere, asynchronously (a durable consumer acting on an
 * event): polls `check` until it answers true. A throw counts as "not yet"; after `timeoutMs` it
 * fails with the last error as its cause. Not for time the code under test measures: move the
 * injected clock for that.
 */
export async function eventually (
  check: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number, intervalMs?: number, what?: string } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5_000
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      if (await check()) return
      last = undefined
    } catch (err) { last = err }
    if (Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 20))
  }
  throw new Error(`${opts.what ?? 'the condition'} did not hold within ${timeoutMs} ms`, { cause: last })
}

/** A clock tests move by hand. */
export function manualClock (start = new Date('2026-01-01T00:00:00.000Z')): { now: () => Date, set: (d: Date) => void, advance: (ms: number) => void } {
  let t = start.getTime()
  return {
    now: () => new Date(t),
    set: (d: Date) => { t = d.getTime() },
    advance: (ms: number) => { t += ms },
  }
}
export { startServiceProcess, type RunningService, type ServiceProcessOptions } from './stack.js'
export {
  runFactorConformance,
  type Bus, type BusMessage, type ContractEndpoint, type ContractEvent, type FactorConformanceOptions, type FactorUnderTest,
} from './factor-conformance.js'
export {
  createSoftAuthenticator, AuthenticatorError,
  type SoftAuthenticator, type SoftAuthenticatorOptions, type AuthenticatorKind, type ClientOverrides, type CreateOverrides, type GetOverrides,
  type TamperTarget, type CreationOptionsJSON, type RequestOptionsJSON, type RegistrationResponseJSON, type AuthenticationResponseJSON,
} from './soft-authenticator.js'
export { startFakeFcm, type FakeFcm, type FcmOutcome, type FcmRequest } from './fake-fcm.js'
export { startFakeVonage, type FakeSms, type FakeVonage, type FakeVonageOptions } from './fake-vonage.js'
export { startWebhookReceiver, verifyStandardWebhook, type ReceivedWebhook, type WebhookReceiver } from './webhook-receiver.js'
