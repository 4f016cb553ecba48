import t from 'tap'
import { createMetrics, startOpsServer } from '../src/index.js'

t.test('ops server: healthz, readyz, metrics', async (t) => {
  const metrics = createMetrics('kit')
  metrics.inc('requests_total', { endpoint: 'verify' })
  let ready = true
  const ops = await startOpsServer({ host: '127.0.0.1', port: 0, metrics, ready: { dep: async () => ready } })
  t.teardown(() => ops.close())
  const get = async (p: string) => fetch(`http://127.0.0.1:${ops.port}${p}`)
  t.equal((await get('/healthz')).status, 200)
  t.equal((await get('/readyz')).status, 200)
  ready = false
  const r = await get('/readyz')
  t.equal(r.status, 503)
  t.match(await r.json(), { checks: { dep: 'down' } })
  t.match(await (await get('/metrics')).text(), /warden_requests_total\{service="kit",endpoint="verify"\} 1/)
  t.equal((await get('/nope')).status, 404)
})

t.test('metrics: one series per label set, values escaped, counts added', async (t) => {
  const metrics = createMetrics('kit')
  metrics.inc('calls_total', { subject: 'a', outcome: 'ok' })
  metrics.inc('calls_total', { subject: 'a', outcome: 'ok' }, 2)
  metrics.inc('calls_total', { subject: 'a', outcome: 'TIMEOUT' })
  metrics.inc('odd_total', { reason: 'say "hi"\\now\n' })
  metrics.inc('bare_total')
  const text = metrics.render()
  t.match(text, /^warden_calls_total\{service="kit",subject="a",outcome="ok"\} 3$/m)
  t.match(text, /^warden_calls_total\{service="kit",subject="a",outcome="TIMEOUT"\} 1$/m)
  t.match(text, /^warden_odd_total\{service="kit",reason="say _hi__now_"\} 1$/m, 'quotes, backslashes and newlines cannot break the exposition format')
  t.match(text, /^warden_bare_total\{service="kit"\} 1$/m)
  t.match(text, /^warden_uptime_seconds\{service="kit"\} \d+$/m)
})
