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

export function summarize ({ result, latencies, socketErrors, elapsedMs }, tally, extra = {}) {
  const sorted = Float64Array.from(latencies).sort()
  const durationSec = latencies.length > 0 ? elapsedMs / 1000 : (result.finish - result.start) / 1000
  return {
    requests: result.requests.total,
    durationSec,
    requestsPerSec: result.requests.total / durationSec,
    latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN },
    errors: { ...tally.errors, ...socketErrors, ...(result.errors > 0 ? { 'socket/timeout (autocannon)': result.errors } : {}) },
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

