// P4: one bus hop through the shared serve()/request() (ajv validation at both ends, trace
// headers, the micro service's error envelope) against a bare nats.js request/reply carrying the
// same bytes. `node bus-hop.mjs server <natsUrl>` serves both; `node bus-hop.mjs client <natsUrl>
// <requests> <concurrency> <runs>` measures them in alternating runs and prints one JSON line.
import { importDist } from './paths.mjs'
import { percentile } from './stats.mjs'

const [mode, natsUrl, ...rest] = process.argv.slice(2)
const kit = await importDist('packages/service-kit/dist/index.js')
const { serve, request } = await importDist('packages/contracts/dist/nats/index.js')
const { describeTotp } = await importDist('packages/contracts/dist/index.js')

const BARE_SUBJECT = 'bench.bare.v1.describe'
const ANSWER = { factor: 'totp', enrolled: true, createdAt: '2026-01-01T00:00:00.000Z', items: [] }
const USER = { userId: 'usr_bench_bus_hop_0000000' }
const nc = await kit.connectNats(natsUrl, `bench-bus-hop-${mode}`)

if (mode === 'server') {
  const log = kit.createLogger({ name: 'bench-bus-hop', level: 'warn' })
  const service = await kit.addMicroService(nc, { name: 'bench-bus-hop', version: '0.0.0', description: 'P4' })
  serve(service, describeTotp, async () => ANSWER, log)
  const bytes = new TextEncoder().encode(JSON.stringify(ANSWER))
  nc.subscribe(BARE_SUBJECT, { queue: 'q', callback: (err, msg) => { if (err === null) msg.respond(bytes) } })
  await nc.flush()
  process.stdout.write('ready\n')
} else {
  const [requests, concurrency, runs] = rest.map(Number)
  const body = JSON.stringify(USER)
  const variants = {
    'service-kit serve()/request()': () => request(nc, describeTotp, USER, { timeoutMs: 5_000 }),
    'bare nats.js request/reply': async () => JSON.parse(new TextDecoder().decode((await nc.request(BARE_SUBJECT, body, { timeout: 5_000 })).data)),
  }
  async function measure (call, n) {
    const lat = new Float64Array(n)
    let next = 0
    let errors = 0
    const t0 = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++
        const s = performance.now()
        try { await call() } catch { errors++ }
        lat[i] = performance.now() - s
      }
    }))
    const secs = (performance.now() - t0) / 1000
    lat.sort()
    return { requests: n, perSec: n / secs, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), errors }
  }
  const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]))
  for (const call of Object.values(variants)) await measure(call, Math.min(2_000, requests)) // warm-up (smaller in the smoke)
  for (let r = 0; r < runs; r++) {
    for (const [name, call] of Object.entries(variants)) results[name].push(await measure(call, requests))
  }
  process.stdout.write(JSON.stringify({ payloadBytes: { request: body.length, response: JSON.stringify(ANSWER).length }, results }) + '\n')
  await nc.close()
  process.exit(0)
}
process.on('SIGTERM', async () => { await nc.drain(); process.exit(0) })
