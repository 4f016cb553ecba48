// The benchmark suite: starts the stack, prepares users, runs the scenarios asked for, and returns
// every figure with how it was measured. report.mjs renders the result; bench/run.mjs writes it.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { startLoadGenerator } from './load-client.mjs'
import { topSelfTime } from './profile.mjs'
import { fromRoot, importFrom, root } from './paths.mjs'
import { cpuProfileArgs, startInProcessServer, startStack, rssOf, WEBAUTHN_ORIGIN } from './stack.mjs'
import { spread } from './stats.mjs'

export const FACTOR_SCENARIOS = { 'F-PUSH': 'push', 'F-SMS': 'sms', 'F-WEBAUTHN': 'webauthn' }
export const SCENARIOS = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'SCALE', ...Object.keys(FACTOR_SCENARIOS)]

/**
 * Sizes per mode. `full` is what BENCHMARKS.md is written from; `smoke` is the npm test smoke.
 * Every throughput figure of `full` rests on at least 20,000 timed requests over its 3 runs
 * (P1: 3,500 sign-ins = 7,000 requests per run and side; P2 and SCALE: 7,000 verifies per run;
 * P4: 20,000 per run and variant). P3 holds a fixed rate for p3Sec per run, so its count follows
 * the rate; F-* run 1,500 sign-ins of 3 to 5 requests per run. Pending challenges (P5) are
 * measured over 2,000 per factor: each push needs its own paired device (one open push per
 * user), and the average is stable long before that; transactions over 10,000. The whole `full`
 * run takes about 35 minutes on 2 cores (BENCHMARKS.md lists each scenario's wall time).
 */
export const MODES = {
  full: { warmup: 2_000, signins: 3_500, verifies: 7_000, runs: 3, connections: 32, p3Sec: 15, busHop: 20_000, memCount: 10_000, pendingCount: 2_000, soakMin: 10, sampleSec: 30, minUsers: 0, p3Max: Infinity, factorSignins: 1_500, factorWarmup: 300 },
  quick: { warmup: 200, signins: 500, verifies: 1_000, runs: 3, connections: 16, p3Sec: 5, busHop: 2_000, memCount: 1_000, pendingCount: 500, soakMin: 0.5, sampleSec: 10, minUsers: 0, p3Max: Infinity, factorSignins: 200, factorWarmup: 50 },
  smoke: { warmup: 5, signins: 10, verifies: 10, runs: 1, connections: 2, p3Sec: 1, busHop: 50, memCount: 10, pendingCount: 10, soakMin: 2 / 60, sampleSec: 1, minUsers: 100, p3Max: 10, factorSignins: 3, factorWarmup: 2 },
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** CPU time (user + system) a process has used, in seconds; NaN once it is gone. */
function cpuSecondsOf (pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ 100)
  } catch { return NaN }
}

/** The pid of a process whose command line contains `needle` (nats-server and redis-server by port). */
function pidByCmdline (needle) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try { if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').includes(needle)) return Number(entry) } catch { /* gone */ }
  }
  return undefined
}

export function describeMachine () {
  const version = (cmd) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n')[0]
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout.trim()
  return {
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    ramGiB: totalmem() / 2 ** 30,
    node: process.version,
    natsServer: version('nats-server'),
    redisServer: version('redis-server'),
    date: new Date().toISOString(),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain') !== '',
  }
}

/**
 * Runs the scenarios in `only` (all by default) at the sizes of `mode`. `log` gets progress lines.
 * Returns `{ machine, mode, settings, results, errors }`; a scenario that throws is reported in
 * `results[id].failure`, the others still run.
 */
export async function runSuite ({ mode = 'full', only = SCENARIOS, soakMin, profile = false, log = console.log } = {}) {
  const s = { ...MODES[mode], ...(soakMin === undefined ? {} : { soakMin }) }
  const want = (id) => only.includes(id)
  const results = {}
  const profileDir = profile ? mkdtempSync(join(tmpdir(), 'warden-bench-prof-')) : undefined
  log(`bench: starting the stack (${mode})`)
  const t0 = Date.now()
  const lg = startLoadGenerator()
  let stack
  try {
    // The fake Vonage lives in the load generator, which reads the codes it receives.
    stack = await startStack({ vonage: await lg.run('vonage-start') })
  } catch (err) { await lg.stop(); throw err }
  let inProcess
  // Ctrl-C (or tap's timeout) must not leave seven services, NATS and Redis behind.
  const onSignal = (signal) => {
    log(`bench: ${signal}: stopping the stack`)
    Promise.allSettled([lg.stop(), stack.stop(), inProcess?.stop()]).finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // A restart (the profiled run) moves the gateway to another port.
  let url = stack.baseUrl
  const extraPids = { 'nats-server': pidByCmdline(`-p ${stack.nats.port} `), 'redis-server': pidByCmdline(`127.0.0.1:${stack.redis.port}`), 'load generator': lg.pid }
  const rssAll = () => Object.fromEntries(stack.processes.map((p) => [p.label, rssOf(p.pid)]))
  const cpuAll = () => Object.fromEntries([...stack.processes.map((p) => [p.label, p.pid]), ...Object.entries(extraPids)].map(([k, pid]) => [k, cpuSecondsOf(pid)]))
  const enrollment = { runs: [], errors: {}, factors: {} }

  /** Enrolls until `n` users exist (enrollment errors are counted and reported, then retried). */
  async function ensureUsers (n) {
    for (let attempt = 0; attempt < 6; attempt++) {
      const { users } = await lg.run('status')
      if (users >= n) return
      const r = await lg.run('enroll', { url, count: n - users, connections: Math.min(16, s.connections) })
      enrollment.runs.push({ added: r.added, requestsPerSec: r.requestsPerSec, durationSec: r.durationSec })
      for (const [k, v] of Object.entries(r.errors)) enrollment.errors[k] = (enrollment.errors[k] ?? 0) + v
    }
    throw new Error(`could not enroll ${n} users (errors: ${JSON.stringify(enrollment.errors)})`)
  }
  /** Waits for a new 30 s step (users come back), or enrolls more, until `n` uses are available. */
  async function ensureAvailable (n) {
    for (let waits = 0; ; waits++) {
      const { available, users } = await lg.run('status')
      if (available >= n) return
      if (waits >= 2 || users * 2 < n) { await ensureUsers(users + Math.ceil((n - available) / 2) + 1); continue }
      await sleep(30_000 - (Date.now() % 30_000) + 50)
    }
  }
  /** Enrolls `factor` users (REST, untimed) until `n` exist. */
  async function ensureFactorUsers (factor, n) {
    const record = enrollment.factors[factor] ??= { runs: [], errors: {} }
    for (let attempt = 0; attempt < 8; attempt++) {
      const have = (await lg.run('factor-status'))[factor]
      if (have >= n) return
      const r = await lg.run('factor-enroll', { factor, url, count: n - have, concurrency: Math.min(16, s.connections), origin: WEBAUTHN_ORIGIN })
      record.runs.push({ added: r.added, perSec: r.perSec, durationSec: r.durationSec })
      for (const [k, v] of Object.entries(r.errors)) record.errors[k] = (record.errors[k] ?? 0) + v
    }
    throw new Error(`could not enroll ${n} ${factor} users (errors: ${JSON.stringify(record.errors)})`)
  }
  const measuredRuns = async (fn) => { const runs = []; for (let i = 0; i < s.runs; i++) runs.push(await fn(i)); return runs }
  const errorsOf = (runs) => runs.reduce((acc, r) => { for (const [k, v] of Object.entries(r.errors)) acc[k] = (acc[k] ?? 0) + v; return acc }, {})
  const errorCount = (runs) => runs.reduce((a, r) => a + r.errorCount, 0)
  /** Prepares `count` transactions and verifies them (at `overallRate` if given). */
  async function verifyRun (count, overallRate, during) {
    await ensureAvailable(count)
    const prep = await lg.run('prepare', { url, count, connections: s.connections })
    const stopDuring = during?.()
    const r = await lg.run('verify', { url, connections: s.connections, ...(overallRate === undefined ? {} : { overallRate }) })
    await stopDuring?.()
    r.errors = { ...prep.errors, ...r.errors }
    r.errorCount += prep.errorCount
    return r
  }
  /** Samples every process's RSS each second while a run goes; the maximum per process. */
  function rssPeak () {
    const peak = {}
    const timer = setInterval(() => { for (const [k, v] of Object.entries(rssAll())) peak[k] = Math.max(peak[k] ?? 0, v) }, 1_000)
    return async () => { clearInterval(timer); Object.assign(results.memory ??= {}, { loadedRss: peak }) }
  }

  try {
    log(`bench: stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    await sleep(1_000)
    results.idleRss = rssAll()
    // TOTP users and the TOTP warm-up only for the scenarios that sign in with TOTP.
    if (['P1', 'P2', 'P3', 'P5', 'P6', 'SCALE'].some(want)) {
      await ensureUsers(Math.max(s.minUsers, Math.ceil(Math.max(s.signins, s.verifies) * 1.1)))
      log('bench: warm-up')
      const warm = await lg.run('signin', { url, amount: s.warmup, connections: s.connections })
      results.warmup = { signins: s.warmup, signinsPerSec: warm.requestsPerSec / 2, errorCount: warm.errorCount, errors: warm.errors }
    }

    const step = async (id, fn) => {
      if (!want(id)) return
      log(`bench: ${id} (${((Date.now() - t0) / 1000).toFixed(0)} s in)`)
      const started = Date.now()
      try { results[id] = await fn() } catch (err) { results[id] = { failure: err.stack ?? String(err) }; log(`bench: ${id} failed: ${err.message}`) }
      results[id].wallSec = (Date.now() - started) / 1000
      log(`bench: ${id} took ${results[id].wallSec.toFixed(0)} s`)
    }

    await step('P1', async () => {
      inProcess = await startInProcessServer(stack)
      try {
        await lg.run('signin', { url: inProcess.baseUrl, amount: s.warmup, connections: s.connections })
        const bus = []
        const local = []
        await measuredRuns(async () => {
          await ensureAvailable(s.signins)
          bus.push(await lg.run('signin', { url, amount: s.signins, connections: s.connections }))
          await ensureAvailable(s.signins)
          local.push(await lg.run('signin', { url: inProcess.baseUrl, amount: s.signins, connections: s.connections }))
        })
        const rate = (runs) => spread(runs.map((r) => r.requestsPerSec / 2))
        const busRate = rate(bus)
        const localRate = rate(local)
        return {
          how: `${s.runs} runs of ${s.signins} sign-ins (${s.signins * 2} requests: POST /v1/signin + POST /v1/signin/{id}/verify), ${s.connections} connections, closed loop, after ${s.warmup} warm-up sign-ins on each; bus and in-process runs alternate`,
          bus: { signinsPerSec: busRate, latencyP50: spread(bus.map((r) => r.latencyMs.p50)), errorCount: errorCount(bus), errors: errorsOf(bus) },
          inProcess: { signinsPerSec: localRate, latencyP50: spread(local.map((r) => r.latencyMs.p50)), errorCount: errorCount(local), errors: errorsOf(local) },
          ratio: busRate.median / localRate.median,
        }
      } finally { await inProcess.stop(); inProcess = undefined }
    })

    await step('P2', async () => {
      const cpu = []
      const runs = await measuredRuns(async (i) => verifyRun(s.verifies, undefined, () => {
        const before = cpuAll()
        const stopPeak = i === 0 ? rssPeak() : undefined
        return async () => {
          const after = cpuAll()
          cpu.push(Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]])))
          await stopPeak?.()
        }
      }))
      const verifies = runs.map((r) => r.verifies)
      // CPU seconds per 1,000 verifies, per process (median over runs): what transfers to bigger nodes.
      const cpuPerK = Object.fromEntries(Object.keys(cpu[0]).map((k) => [k, spread(cpu.map((c, i) => (1000 * c[k]) / verifies[i])).median]))
      let profiles
      if (profile) {
        // The two processes restarted under --cpu-prof, warmed up, one run measured, then restarted
        // plain: SIGTERM's graceful stop exits normally and V8 writes the profile. Only the samples
        // taken during the run count (their timestamps share process.hrtime's monotonic clock).
        log('bench: P2 profiled run (not counted)')
        const profiled = [stack.gateway, stack.totp[0]]
        for (const p of profiled) await stack.restart(p, cpuProfileArgs(profileDir, p.label))
        url = stack.baseUrl
        await ensureAvailable(s.warmup)
        await lg.run('signin', { url, amount: s.warmup, connections: s.connections })
        const window = {}
        await verifyRun(s.verifies, undefined, () => {
          window.fromUs = Number(process.hrtime.bigint() / 1000n)
          return async () => { window.toUs = Number(process.hrtime.bigint() / 1000n) }
        })
        for (const p of profiled) await stack.restart(p)
        url = stack.baseUrl
        profiles = Object.fromEntries(profiled.map((p) => {
          const file = join(profileDir, `${p.label}.cpuprofile`)
          if (!existsSync(file)) throw new Error(`${p.label} wrote no CPU profile`)
          return [p.label, topSelfTime(file, 15, window)]
        }))
      }
      return {
        how: `${s.runs} runs; each: ${s.verifies} sign-ins started (not timed), then their ${s.verifies} POST /v1/signin/{id}/verify (TOTP) timed, ${s.connections} connections, closed loop`,
        verifiesPerSec: spread(runs.map((r) => r.requestsPerSec)),
        latency: { p50: spread(runs.map((r) => r.latencyMs.p50)), p99: spread(runs.map((r) => r.latencyMs.p99)) },
        errorCount: errorCount(runs), errors: errorsOf(runs),
        cpuSecPer1000: cpuPerK,
        ...(profiles === undefined ? {} : { profiles }),
      }
    })

    await step('P3', async () => {
      const max = results.P2?.verifiesPerSec?.median
      if (max === undefined || !Number.isFinite(max)) throw new Error('P3 needs P2 (its maximum): run it with P2')
      const levels = []
      for (const pct of [25, 50, 75]) {
        const rate = Math.max(1, Math.round((max * pct) / 100))
        const count = Math.min(s.p3Max, Math.max(rate * s.p3Sec, 10))
        const runs = await measuredRuns(() => verifyRun(count, rate))
        levels.push({
          pct, rate, requests: count,
          p50: spread(runs.map((r) => r.latencyMs.p50)), p90: spread(runs.map((r) => r.latencyMs.p90)), p99: spread(runs.map((r) => r.latencyMs.p99)),
          achieved: spread(runs.map((r) => r.requestsPerSec)), errorCount: errorCount(runs), errors: errorsOf(runs),
        })
      }
      return { how: `verify only; per level ${s.runs} runs of ${s.p3Sec} s at a fixed arrival rate = the % of P2's median, open loop: request i sent at start + i / rate on keep-alive connections (a new one when all are busy), latency counted from the scheduled send time, so a stall is not hidden (runPaced in bench/harness/autocannon-run.mjs; autocannon's overallRate sends each connection's per-second quota in one burst)`, levels }
    })

    for (const [id, factor] of Object.entries(FACTOR_SCENARIOS)) {
      await step(id, async () => {
        await ensureFactorUsers(factor, s.factorSignins)
        const warm = await lg.run('factor-signin', { factor, url, count: Math.min(s.factorWarmup, s.factorSignins), connections: s.connections })
        const runs = await measuredRuns(() => lg.run('factor-signin', { factor, url, count: s.factorSignins, connections: s.connections }))
        const labels = runs[0].steps.map((x) => x.label)
        const steps = labels.map((label) => {
          const of = runs.map((r) => r.steps.find((x) => x.label === label)).filter((x) => x !== undefined)
          const fig = (f) => spread(of.map(f))
          return { label, requests: fig((x) => x.requests), perSec: fig((x) => x.requestsPerSec), p50: fig((x) => x.latencyMs.p50), p90: fig((x) => x.latencyMs.p90), p99: fig((x) => x.latencyMs.p99) }
        })
        const records = enrollment.factors[factor]
        return {
          how: `${s.runs} runs of ${s.factorSignins} sign-ins by ${s.factorSignins} different users (each user once per run), after ${Math.min(s.factorWarmup, s.factorSignins)} warm-up sign-ins; each step is its own closed-loop run over the whole batch (${s.connections} connections), started when the step before has finished for every sign-in, so each step has its own throughput and latency`,
          factor, steps,
          // The whole sign-in: the batch over the sum of its steps' run times (the untimed client work between them left out).
          signinsPerSec: spread(runs.map((r) => r.completed / r.steps.reduce((a, x) => a + x.durationSec, 0))),
          warmup: { count: warm.count, errorCount: warm.errorCount, errors: warm.errors },
          errorCount: errorCount(runs), errors: errorsOf(runs),
          enrolled: { users: records?.runs.reduce((a, r) => a + r.added, 0) ?? 0, perSec: records?.runs[0]?.perSec, errors: records?.errors ?? {} },
        }
      })
    }

    await step('P5', async () => {
      const { default: Redis } = await importFrom('packages/service-kit', 'ioredis')
      const redis = new Redis(stack.redis.url)
      try {
        const scan = async (match) => {
          const keys = new Set()
          let cursor = '0'
          do { const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000); cursor = next; for (const k of batch) keys.add(k) } while (cursor !== '0')
          return keys
        }
        const before = await scan('gw:signin:*')
        await ensureAvailable(s.memCount)
        const prep = await lg.run('prepare', { url, count: s.memCount, connections: s.connections })
        const fresh = [...await scan('gw:signin:*')].filter((k) => !before.has(k))
        let bytes = 0
        for (const k of fresh) bytes += Number(await redis.memory('USAGE', k, 'SAMPLES', 0))
        /** MEMORY USAGE of every key but the gateway's sign-in transactions and rate limits (read whole above). */
        const usageByKey = async () => {
          const usage = new Map()
          const keys = [...await scan('*')].filter((k) => !k.startsWith('gw:'))
          for (let i = 0; i < keys.length; i += 1000) {
            const batch = keys.slice(i, i + 1000)
            const answers = await batch.reduce((p, k) => p.memory('USAGE', k, 'SAMPLES', 0), redis.pipeline()).exec()
            batch.forEach((k, j) => { if (answers[j][1] !== null) usage.set(k, Number(answers[j][1])) })
          }
          return usage
        }
        const pending = {}
        for (const factor of ['sms', 'push', 'webauthn']) {
          // push: one open push per user, so as many users as challenges; the others reuse their users.
          await ensureFactorUsers(factor, factor === 'push' ? s.pendingCount : Math.min(s.pendingCount, s.factorSignins))
          const before = await usageByKey()
          const r = await lg.run('factor-pending', { factor, url, count: s.pendingCount, connections: s.connections })
          const after = await usageByKey()
          const byPrefix = {}
          const add = (k, d) => { const prefix = k.split(':')[0]; byPrefix[prefix] = (byPrefix[prefix] ?? 0) + d }
          // New keys whole, grown keys by their growth. Keys that shrank or vanished meanwhile are
          // other work expiring (used TOTP steps, trimmed outboxes), not the cost of a challenge:
          // counted as 0 (they once made the figure negative).
          for (const [k, v] of after) add(k, Math.max(0, v - (before.get(k) ?? 0)))
          const total = Object.values(byPrefix).reduce((a, b) => a + b, 0)
          pending[factor] = { count: r.created, avgBytes: total / Math.max(1, r.created), byPrefix, errorCount: r.errorCount, errors: r.errors }
        }
        return {
          how: `${s.memCount} sign-in transactions started (POST /v1/signin), then MEMORY USAGE (SAMPLES 0) of each new gw:signin:* key, averaged; RSS from /proc/<pid>/status VmRSS`,
          transactions: { count: fresh.length, avgBytes: bytes / Math.max(1, fresh.length), errorCount: prep.errorCount, errors: prep.errors },
          pendingHow: `per factor, ${s.pendingCount} sign-ins started and left at the factor's challenge (POST /v1/signin, then POST /v1/signin/{id}/challenge: an SMS sent, a push out, WebAuthn options), by ${s.pendingCount} push users (one open push each) or round robin over the scenario's users; MEMORY USAGE (SAMPLES 0) of every Redis key outside gw:* before and after, the difference (new keys whole, grown keys by their growth; keys that shrank or expired meanwhile count 0) over the challenges created; the gateway's own part is the sign-in transaction above`,
          pending,
          idleRss: results.idleRss,
          loadedRss: results.memory?.loadedRss,
        }
      } finally { redis.disconnect() }
    })

    await step('P4', async () => {
      const server = spawn(process.execPath, [fromRoot('bench/harness/bus-hop.mjs'), 'server', stack.nats.url], { stdio: ['ignore', 'pipe', 'inherit'] })
      try {
        await new Promise((resolve, reject) => { server.stdout.once('data', resolve); server.once('exit', reject) })
        const client = spawnSync(process.execPath, [fromRoot('bench/harness/bus-hop.mjs'), 'client', stack.nats.url, String(s.busHop), String(Math.min(32, s.connections)), String(s.runs)], { encoding: 'utf8', timeout: 600_000 })
        if (client.status !== 0) throw new Error(`bus-hop client failed: ${client.stderr.slice(-2000)}`)
        const { payloadBytes, results: byVariant } = JSON.parse(client.stdout.trim().split('\n').pop())
        const figures = Object.fromEntries(Object.entries(byVariant).map(([k, runs]) => [k, {
          perSec: spread(runs.map((r) => r.perSec)), p50: spread(runs.map((r) => r.p50)), p99: spread(runs.map((r) => r.p99)), errors: runs.reduce((a, r) => a + r.errors, 0),
        }]))
        const [kit, bare] = Object.values(figures)
        return {
          how: `server and client in two processes on the stack's nats-server; ${s.runs} runs of ${s.busHop} requests per variant, alternating, concurrency ${Math.min(32, s.connections)}, after ${Math.min(2_000, s.busHop)} warm-up requests each; payload ${payloadBytes.request} B request / ${payloadBytes.response} B response (warden.totp.v1.describe)`,
          variants: figures,
          p50Ratio: kit.p50.median / bare.p50.median,
          throughputRatio: kit.perSec.median / bare.perSec.median,
          errorCount: Object.values(figures).reduce((a, f) => a + f.errors, 0),
        }
      } finally { server.kill('SIGTERM') }
    })

    await step('SCALE', async () => {
      const one = results.P2?.verifiesPerSec
      const replica = await stack.addTotpReplica()
      try {
        const runs = await measuredRuns(() => verifyRun(s.verifies))
        const two = spread(runs.map((r) => r.requestsPerSec))
        const cpuPer1000 = results.P2?.cpuSecPer1000
        const totalCpu = cpuPer1000 === undefined ? undefined : Object.entries(cpuPer1000).filter(([k, v]) => k !== 'load generator' && Number.isFinite(v)).reduce((a, [, v]) => a + v, 0)
        return {
          how: `as P2 (${s.runs} runs of ${s.verifies} verifies), with a second factor-totp process in the same queue group`,
          oneReplica: one, twoReplicas: two, errorCount: errorCount(runs), errors: errorsOf(runs),
          serverCpuSecPer1000: totalCpu,
          verifiesPerCoreSec: totalCpu === undefined ? undefined : 1000 / totalCpu,
        }
      } finally { await replica.stop() }
    })

    await step('P6', async () => {
      const signinsPerSec = (results.P1?.bus?.signinsPerSec?.median ?? results.warmup?.signinsPerSec)
      const rate = Math.max(1, Math.round(signinsPerSec / 2))
      const totalSec = s.soakMin * 60
      const chunks = Math.max(1, Math.round(totalSec / s.sampleSec))
      const chunkSec = totalSec / chunks
      // Each user signs in about once per 30 s step: enough users for the rate (or the whole soak
      // when it is shorter than a step), plus a margin.
      await ensureUsers(Math.ceil(rate * Math.min(30, totalSec) * 1.3) + 10)
      const samples = []
      for (let i = 0; i < chunks; i++) {
        const r = await lg.run('signin', { url, duration: Math.max(1, Math.round(chunkSec)), overallRate: rate * 2, connections: s.connections })
        // nats-server and redis-server too: JetStream state that leaks (consumers) shows there first.
        const servers = { 'nats-server': rssOf(extraPids['nats-server']), 'redis-server': rssOf(extraPids['redis-server']) }
        samples.push({ atSec: Math.round((i + 1) * chunkSec), signins: r.signins, errorCount: r.errorCount, errors: r.errors, rss: { ...rssAll(), ...servers } })
      }
      const first = samples[0].rss
      const last = samples[samples.length - 1].rss
      const growth = Object.fromEntries(Object.keys(first).map((k) => [k, (100 * (last[k] - first[k])) / first[k]]))
      return {
        how: `${s.soakMin} min of sign-ins (start + verify) at ${rate}/s = 50% of P1's median (${rate * 2} requests/s, autocannon overallRate), errors and every process's VmRSS sampled every ${Math.round(chunkSec)} s; growth = last sample against the first`,
        rate, samples, growthPct: growth,
        errorCount: samples.reduce((a, x) => a + x.errorCount, 0),
      }
    })
  } finally {
    results.enrollment = { ...enrollment, users: (await lg.run('status').catch(() => ({}))).users }
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await lg.stop()
    await stack.stop()
  }
  return { machine: describeMachine(), mode, settings: s, only, profile, results }
}
