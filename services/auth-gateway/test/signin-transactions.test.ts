// Sign-in transactions through the gateway with a fake factor-totp on the bus: not_required, a
// challenge verified once (then consumed), step-up purpose and action, ownership, expiry, parallel
// verifications, and factor errors at the edge. Every method's own flow is in signin-flow.test.ts.
import t from 'tap'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { manualClock } from '@warden/testkit'
import { expectCleanLogs, expectError, loginAs, mfaToken, startChallenge, startGateway } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

const WRONG_CODE = '482913'

async function jwks (): Promise<ReturnType<typeof createLocalJWKSet>> {
  const res = await gw.call('GET', '/.well-known/jwks.json')
  return createLocalJWKSet(res.json() as { keys: JWK[] })
}

t.test('sign-in with the (fake) TOTP factor', async (t) => {
  t.test('a user without any factor: not_required, with an aal1 token that is no MFA proof', async (t) => {
    const { username, token } = await loginAs(gw)
    const res = await gw.call('POST', '/v1/signin', { token })
    t.equal(res.statusCode, 200)
    t.equal(res.json().status, 'not_required')
    gw.issued.push(res.json().token)
    const { payload } = await jwtVerify(res.json().token, await jwks(), { issuer: 'warden', audience: 'demo-app', currentDate: clock.now() })
    t.match(payload, { sub: username, acr: 'aal1', amr: [], token_use: 'mfa' })
  })

  t.test('challenge → wrong code → verified → consumed', async (t) => {
    const { username, token } = await loginAs(gw, undefined, 'shop')
    fake.enroll(username)
    const start = await gw.call('POST', '/v1/signin', { token, body: { purpose: 'signin', context: { ip: '203.0.113.7', userAgent: 'tap' } } })
    t.equal(start.statusCode, 200)
    const s = start.json()
    t.match(s, { status: 'challenge', transactionId: /^txn_[A-Za-z0-9_-]{43}$/, methods: [{ method: 'totp', available: true, items: [] }], defaultMethod: 'totp' })
    t.equal(Date.parse(s.expiresAt) - clock.now().getTime(), 600_000)
    t.equal(start.headers['cache-control'], 'no-store')
    const id = s.transactionId as string
    const ttl = await gw.redis.pttl(`gw:signin:${id}`)
    t.ok(ttl > 600_000 && ttl <= 1_200_000, 'kept in Redis past its expiry, to answer 410')

    const view = await gw.call('GET', `/v1/signin/${id}`, { token })
    t.match(view.json(), { transactionId: id, status: 'challenge', purpose: 'signin', methods: [{ method: 'totp', available: true }], defaultMethod: 'totp' })

    const wrong = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: WRONG_CODE } })
    t.equal(wrong.statusCode, 200)
    t.same(wrong.json(), { status: 'rejected', reason: 'invalid_code', attemptsLeft: 9 })
    t.same((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '111111' } })).json(), { status: 'rejected', reason: 'replayed', attemptsLeft: 8 })

    const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
    t.equal(ok.statusCode, 200)
    t.equal(ok.json().status, 'verified')
    const mfa = ok.json().token as string
    gw.issued.push(mfa)
    const header = decodeProtectedHeader(mfa)
    t.equal(header.alg, 'ES256')
    t.type(header.kid, 'string')
    const { payload } = await jwtVerify(mfa, await jwks(), { issuer: 'warden', audience: 'shop', algorithms: ['ES256'], currentDate: clock.now() })
    t.match(payload, { sub: username, aud: 'shop', amr: ['otp', 'mfa'], acr: 'aal2', token_use: 'mfa' })
    t.equal((payload.exp as number) - (payload.iat as number), 900)
    t.equal(payload.auth_time, Math.floor(clock.now().getTime() / 1000))
    t.equal(payload.action, undefined)

    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } }), 409, 'CONFLICT')
    t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { status: 'verified', methods: [] })
    t.equal(fake.callsOf(username, 'verify'), 3, 'the consumed transaction did not reach the factor')
  })

  t.test('step-up purpose and action end up in the MFA token', async (t) => {
    const { username, token } = await loginAs(gw)
    fake.enroll(username)
    const start = await gw.call('POST', '/v1/signin', { token, body: { purpose: 'step-up', action: 'account.delete' } })
    const id = start.json().transactionId as string
    t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { purpose: 'step-up', action: 'account.delete' })
    const res = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
    gw.issued.push(res.json().token)
    t.equal(decodeJwt(res.json().token).action, 'account.delete')
  })

  t.test('a transaction belongs to its user: others get 404', async (t) => {
    const owner = await loginAs(gw)
    const other = await loginAs(gw)
    fake.enroll(owner.username)
    fake.enroll(other.username)
    const id = await startChallenge(gw, owner.token)
    expectError(t, await gw.call('GET', `/v1/signin/${id}`, { token: other.token }), 404, 'NOT_FOUND')
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token: other.token, body: { method: 'totp', code: '000000' } }), 404, 'NOT_FOUND')
    t.equal(fake.callsOf(other.username, 'verify'), 0)
    t.equal((await gw.call('GET', `/v1/signin/${id}`, { token: owner.token })).json().status, 'challenge', 'untouched')
    const unknown = `txn_${'A'.repeat(43)}`
    expectError(t, await gw.call('GET', `/v1/signin/${unknown}`, { token: owner.token }), 404, 'NOT_FOUND')
    expectError(t, await gw.call('POST', `/v1/signin/${unknown}/verify`, { token: owner.token, body: { method: 'totp', code: '000000' } }), 404, 'NOT_FOUND')
  })

  t.test('an expired transaction is 410 FLOW_EXPIRED and reaches no factor', async (t) => {
    const { username, token } = await loginAs(gw)
    fake.enroll(username)
    const id = await startChallenge(gw, token)
    clock.advance(600_000)
    expectError(t, await gw.call('GET', `/v1/signin/${id}`, { token }), 410, 'FLOW_EXPIRED')
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } }), 410, 'FLOW_EXPIRED')
    t.equal(fake.callsOf(username, 'verify'), 0)
  })

  t.test('parallel verifications: exactly one wins', async (t) => {
    const { username, token } = await loginAs(gw)
    fake.enroll(username)
    const id = await startChallenge(gw, token)
    const answers = await Promise.all(Array.from({ length: 6 }, () =>
      gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })))
    const verified = answers.filter((a) => a.statusCode === 200 && a.json().status === 'verified')
    t.equal(verified.length, 1)
    for (const a of answers) if (a !== verified[0]) expectError(t, a, 409, 'CONFLICT')
    for (const v of verified) gw.issued.push(v.json().token)
  })

  t.test('factor errors at the edge: lock → 429 + Retry-After; not enrolled → 409; a factor BAD_REQUEST → 500', async (t) => {
    const { username, token } = await loginAs(gw)
    fake.enroll(username)
    const id = await startChallenge(gw, token)
    const locked = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '888888' } })
    expectError(t, locked, 429, 'FACTOR_LOCKED')
    t.equal(locked.headers['retry-after'], '120')
    t.equal(locked.json().error.retryAfterSec, 120)

    const ours = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '999999' } })
    expectError(t, ours, 500, 'INTERNAL')
    t.equal(ours.json().error.message, 'internal error')

    await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': await mfaToken(gw, token) } })
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } }), 409, 'NOT_ENROLLED')
  })
})

t.test('logs never carry codes, tokens or secrets', async (t) => { expectCleanLogs(t, gw, [WRONG_CODE]) })
