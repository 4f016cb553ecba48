// autocannon driven programmatically, for the load generator (loadgen.mjs, factor-flows.mjs):
// one run per call, every response checked, errors counted by kind, latencies kept for percentiles.
import autocannon from 'autocannon'
import { percentile } from './stats.mjs'

export const json = { 'content-type': 'application/json' }
export const bearer = (token) => ({ authorization: `Bearer ${token}` })

/** Counts what went wrong, by kind: an HTTP status, a verify that did not verify, a socket error. */
export function createTally () {
  const errors = {}
  return {
    errors,
    add: (kind, n = 1) => { errors[kind] = (errors[kind] ?? 0) + n },
    get count () { return Object.values(errors).reduce((a, b) => a + b, 0) },
  }
}

export function parse (body) {
  try { return JSON.parse(body) } catch { return undefined }
}

/** One autocannon run; every response is checked by `requests[i].check(status, body, ctx)`. */
export function runAutocannon ({ url, requests, connections, amount, duration, overallRate }) {
  const latencies = []
  const socketErrors = {}
  const opts = {
    url,
    connections,
    pipelining: 1,
    timeout: 10,
    ...(amount === undefined ? { duration } : { amount }),
    ...(overallRate === undefined ? {} : { overallRate }),
    requests: requests.map((r) => ({
      method: r.method,
      ...(r.path === undefined ? {} : { path: r.path }),
      setupRequest: r.setup,
      onResponse: (status, body, ctx) => r.check(status, body, ctx),
    })),
  }
  // autocannon notices a run of `amount` is over only at its next 1 s sample tick, so its own
  // duration overstates a short run by up to a second: the run ends at its last response here.
  const startedAt = performance.now()
  let lastResponseAt = startedAt
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => {
      if (err) { reject(err); return }
      resolve({ result, latencies, socketErrors, elapsedMs: lastResponseAt - startedAt })
    })
    instance.on('response', (_client, _status, _bytes, ms) => { latencies.push(ms); lastResponseAt = performance.now() })
    // Timeouts and socket errors never reach onResponse; autocannon counts them in result.errors.
    instance.on('reqError', (err) => { const k = `socket:${err.code ?? err.message}`; socketErrors[k] = (socketErrors[k] ?? 0) + 1 })
  })
}

export function summarize ({ result, latencies, socketErrors, elapsedMs, paced = false }, tally, extra = {}) {
  const sorted = Float64Array.from(latencies).sort()
  const durationSec = latencies.length > 0 ? elapsedMs / 1000 : (result.finish - result.start) / 1000
  return {
    requests: result.requests.total,
    durationSec,
    requestsPerSec: result.requests.total / durationSec,
    latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN },
    // A paced run's socket errors are in socketErrors by kind already; autocannon's only as a count.
    errors: { ...tally.errors, ...socketErrors, ...(result.errors > 0 && !paced ? { 'socket/timeout (autocannon)': result.errors } : {}) },
    errorCount: tally.count + result.errors,
    connections: result.connections,
    ...extra,
  }
}

/** False, and counted by status and error code, unless the answer is a 200. */
export const expectStatus = (tally, label) => (status, body) => {
  if (status === 200) return true
  tally.add(`${label}:${status}:${parse(body)?.error?.code ?? ''}`)
  return false
}


/**
 * An open-loop run at a fixed arrival rate: request i is sent at start + i / rate, whatever the
 * answers before it are doing, on keep-alive connections (a new one when all are busy, up to
 * `maxSockets`). Latency runs from the scheduled send time, so a stall shows in full instead of
 * delaying the requests behind it (no coordinated omission). autocannon's `overallRate` is not
 * this: each connection sends its per-second quota back to back when its 1 s tick resets, so a
 * "fixed rate" there is a burst of `connections` requests each second. Same result shape as
 * runAutocannon, for summarize().
 */
export async function runPaced ({ url, request, count, rate, maxSockets = 256 }) {
  const http = await import('node:http')
  const agent = new http.Agent({ keepAlive: true, maxSockets })
  const target = new URL(url)
  const latencies = []
  const socketErrors = {}
  let total = 0
  let errors = 0
  const startedAt = performance.now()
  let lastResponseAt = startedAt
  const one = (i) => new Promise((resolve) => {
    const scheduled = startedAt + (i * 1000) / rate
    const ctx = {}
    const req = request.setup({ method: request.method, path: request.path, headers: {} }, ctx)
    if (req === null) { resolve(); return }
    const body = req.body ?? ''
    const r = http.request({ agent, host: target.hostname, port: target.port, method: req.method, path: req.path, headers: { ...req.headers, 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        lastResponseAt = performance.now()
        latencies.push(lastResponseAt - scheduled)
        total++
        request.check(res.statusCode, Buffer.concat(chunks).toString('utf8'), ctx)
        resolve()
      })
    })
    r.on('timeout', () => { r.destroy(new Error('timeout')) })
    r.on('error', (err) => { const k = `socket:${err.code ?? err.message}`; socketErrors[k] = (socketErrors[k] ?? 0) + 1; errors++; resolve() })
    r.end(body)
  })
  const inFlight = []
  for (let i = 0; i < count; i++) {
    const wait = startedAt + (i * 1000) / rate - performance.now()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(one(i))
  }
  await Promise.all(inFlight)
  agent.destroy()
  return { result: { requests: { total }, errors, connections: maxSockets, start: startedAt, finish: lastResponseAt }, latencies, socketErrors, elapsedMs: lastResponseAt - startedAt, paced: true }
}
