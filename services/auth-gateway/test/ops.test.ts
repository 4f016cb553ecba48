// The ops endpoints on the gateway's port: /healthz, /readyz, /metrics (no ids in labels).
import t from 'tap'
import { loginAs, startChallenge, startGateway } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const gw = await startGateway(t)
await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

// Traffic for the metrics to count: a transaction started and verified.
const { username, token } = await loginAs(gw)
fake.enroll(username)
const txn = await startChallenge(gw, token)
await gw.call('POST', `/v1/signin/${txn}/verify`, { token, body: { method: 'totp', code: '000000' } })

t.test('ops endpoints on the gateway port', async (t) => {
  t.same((await gw.call('GET', '/healthz')).json(), { status: 'ok' })
  const ready = await gw.call('GET', '/readyz')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { nats: 'ok', redis: 'ok' } })
  const metrics = await gw.call('GET', '/metrics')
  t.match(metrics.headers['content-type'], /text\/plain/)
  t.match(metrics.body, /warden_http_requests_total\{service="auth-gateway",method="POST",route="\/v1\/signin\/:transactionId\/verify",status="200"\} \d+/)
  t.match(metrics.body, /warden_signin_total\{service="auth-gateway",status="challenge"\} \d+/)
  t.notMatch(metrics.body, /txn_/, 'no ids in labels')
})
