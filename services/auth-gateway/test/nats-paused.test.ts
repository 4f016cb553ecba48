// Fast failure when the bus is away (issue 7): nats-server frozen with SIGSTOP (its port still
// accepts, nothing answers), real Redis. Every gateway call to NATS or KV on the request path has
// a deadline (DESCRIBE_TIMEOUT_MS, STORE_TIMEOUT_MS), so the answer is a 503 with Retry-After well
// inside SECURITY.md's 5 s, not after the NATS client's own 5 s timeout.
import t from 'tap'
import { expectError, loginAs, mfaToken, send, startGateway } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const gw = await startGateway(t, { env: { DESCRIBE_TIMEOUT_MS: '300', STORE_TIMEOUT_MS: '500' } })
const totp = await startFakeTotp(t, gw.nc)
await startPlaceholders(t, gw.nc)

/** The deadline the answers must meet: STORE_TIMEOUT_MS (500 ms) plus room for a busy machine. */
const WITHIN_MS = 1_500

t.test('with NATS paused, sign-in start and the other request paths answer 503 with Retry-After within ~1 s; all is well after resume', async (t) => {
  const user = await loginAs(gw)
  totp.enroll(user.username)
  const mfa = await mfaToken(gw, user.token)
  const fresh = await loginAs(gw)
  const adminToken = await gw.login('admin')
  t.equal((await gw.call('POST', '/v1/signin', { token: user.token, body: {} })).json().status, 'challenge', 'before: a challenge')

  gw.infra.nats.pause()
  t.teardown(() => { gw.infra.nats.resume() })

  const cases: Array<[string, () => ReturnType<typeof gw.call>]> = [
    ['POST /v1/signin (user with a factor)', () => gw.call('POST', '/v1/signin', { token: user.token, body: {} })],
    ['POST /v1/signin (user without a factor)', () => gw.call('POST', '/v1/signin', { token: fresh.token, body: {} })],
    ['POST /v1/signin (step-up)', () => gw.call('POST', '/v1/signin', { token: user.token, body: { purpose: 'step-up', action: 'pay' } })],
    ['DELETE /v1/me/totp (step-up check: policy and revocation in KV)', () => gw.call('DELETE', '/v1/me/totp', { token: user.token, headers: { 'x-mfa-token': mfa } })],
    ['POST /v1/admin/users/{sub}/reset (revocation write)', () => send(gw.app, 'POST', `/v1/admin/users/${fresh.username}/reset`, { token: adminToken })],
  ]
  for (const [name, run] of cases) {
    const started = Date.now()
    const res = await run()
    const elapsed = Date.now() - started
    expectError(t, res, 503, 'UNAVAILABLE')
    t.equal(res.headers['retry-after'], '5', `${name}: Retry-After`)
    t.ok(elapsed < WITHIN_MS, `${name}: answered in ${elapsed} ms`)
  }
  const started = Date.now()
  const ready = await gw.call('GET', '/readyz')
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'not_ready', checks: { nats: 'down', redis: 'ok' } })
  t.ok(Date.now() - started < WITHIN_MS, `/readyz in ${Date.now() - started} ms`)

  gw.infra.nats.resume()
  const after = await gw.call('POST', '/v1/signin', { token: user.token, body: {} })
  t.equal(after.statusCode, 200, after.body.slice(0, 200))
  t.equal(after.json().status, 'challenge', 'after resume: a challenge again')
  t.equal((await gw.call('GET', '/readyz')).statusCode, 200)
})
