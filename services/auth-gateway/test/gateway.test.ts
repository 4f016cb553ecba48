// The gateway against real NATS and Redis, with a fake factor-totp (and placeholder factors) on the
// bus: the edge's own behaviour — errors, demo login, input validation, sign-in transactions, the
// step-up rule, self-service, degradation, the ops endpoints and the logs. Tokens and keys are
// tested in tokens.test.ts, the OpenAPI document in openapi.test.ts.
import t from 'tap'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { describePush } from '@warden/contracts'
import { manualClock } from '@warden/testkit'
import { HTTP_STATUS } from '../src/errors.js'
import { expectError, loginAs, mfaToken, startChallenge, startFakeTotp, startGateway, startPlaceholders } from './fixtures/gateway.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
const placeholders = await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

const WRONG_CODE = '482913'

async function jwks (): Promise<ReturnType<typeof createLocalJWKSet>> {
  const res = await gw.call('GET', '/.well-known/jwks.json')
  return createLocalJWKSet(res.json() as { keys: JWK[] })
}

t.test('error table: every contract code has an HTTP status; bus BAD_REQUEST never reaches a client as 400', async (t) => {
  t.equal(HTTP_STATUS.NOT_ENROLLED, 409)
  t.equal(HTTP_STATUS.FACTOR_LOCKED, 429)
  t.equal(HTTP_STATUS.TIMEOUT, 503)
  t.equal(HTTP_STATUS.STEP_UP_REQUIRED, 403)
  for (const status of Object.values(HTTP_STATUS)) t.ok(status >= 400 && status < 600)
})

t.test('demo login', async (t) => {
  t.test('any username with password demo gets a 1 h primary token', async (t) => {
    const { username, token } = await loginAs(gw)
    const claims = decodeJwt(token)
    t.equal(decodeProtectedHeader(token).alg, 'HS256')
    t.equal(claims.sub, username)
    t.equal(claims.azp, 'demo-app')
    t.equal(claims.token_use, 'primary')
    t.equal((claims.exp as number) - (claims.iat as number), 3600)
    t.equal(claims.role, undefined)
  })
  t.test('admin gets role warden:admin; clientId becomes azp', async (t) => {
    const res = await gw.call('POST', '/v1/demo/login', { body: { username: 'admin', password: 'demo', clientId: 'console' } })
    t.equal(res.statusCode, 200)
    const claims = decodeJwt(res.json().token)
    t.equal(claims.role, 'warden:admin')
    t.equal(claims.azp, 'console')
    t.equal(res.headers['cache-control'], 'no-store')
  })
  t.test('wrong password is 401 UNAUTHENTICATED', async (t) => {
    const res = await gw.call('POST', '/v1/demo/login', { body: { username: 'alice', password: 'demo ' } })
    expectError(t, res, 401, 'UNAUTHENTICATED')
    t.match(res.headers['www-authenticate'], /^Bearer/)
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: { username: 'alice', password: 'Demo' } }), 401, 'UNAUTHENTICATED')
  })
  t.test('malformed bodies are 400 BAD_REQUEST', async (t) => {
    const bodies: unknown[] = [
      {}, { username: 'alice' }, { password: 'demo' },
      { username: 1, password: 'demo' }, { username: 'alice', password: 1234 }, { username: ['alice'], password: 'demo' },
      { username: 'Alice', password: 'demo' }, { username: 'al ice', password: 'demo' }, { username: '', password: 'demo' },
      { username: 'a'.repeat(65), password: 'demo' }, { username: 'a'.repeat(10_000), password: 'demo' },
      { username: 'alice', password: 'x'.repeat(10_000) }, { username: 'alice', password: '' },
      { username: 'alice', password: 'demo', clientId: 'bad client' }, { username: 'alice', password: 'demo', clientId: 7 },
      { username: 'alice', password: 'demo', extra: true }, [], 'alice', null, 42,
    ]
    for (const body of bodies) {
      expectError(t, await gw.call('POST', '/v1/demo/login', { body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
    }
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: '{"username":"alice",' }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: '{"__proto__":{"x":1},"username":"alice","password":"demo"}' }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: JSON.stringify({ username: 'alice', password: 'demo', pad: 'x'.repeat(40_000) }) }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login', { headers: { 'content-type': 'text/plain' }, body: 'username=alice' }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login'), 400, 'BAD_REQUEST')
  })
})

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

t.test('malformed input on every route is 400 BAD_REQUEST and changes nothing', async (t) => {
  const { username, token } = await loginAs(gw)
  fake.enroll(username)
  const id = await startChallenge(gw, token)
  const badCodes: unknown[] = ['', '12345', '1234567', '١٢٣٤٥٦', '１２３４５６', 123456, {}, [], null, true, ' 12345', '12345 ', '12 345', '12345a', '+12345', '0x1234', '123456\n']

  for (const code of badCodes) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code } }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA', code } }), 400, 'BAD_REQUEST')
  }
  for (const body of [{}, { code: '000000' }, { method: 'sms' }, { method: 'push', code: '000000' }, { method: 'TOTP', code: '000000' }, { method: 'totp', code: '000000', extra: 1 }, [], 'totp']) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: '{"method":"totp","code":"000000"' }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token }), 400, 'BAD_REQUEST')

  for (const bad of ['txn_short', 'abc', `txn_${'A'.repeat(42)}!`, `txn_${'A'.repeat(44)}`, `TXN_${'A'.repeat(43)}`, `txn_${'A'.repeat(42)}%00`, 'x'.repeat(300), '%E0%A4%A']) {
    expectError(t, await gw.call('GET', `/v1/signin/${bad}`, { token }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', `/v1/signin/${bad}/verify`, { token, body: { method: 'totp', code: '000000' } }), 400, 'BAD_REQUEST')
  }

  for (const enrollmentId of ['', 'enr', 'x'.repeat(500), 42, null, 'enr_AAAA AAAAAAAAAAAAAAAAA']) {
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: '000000' } }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { code: '000000' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: '{bad json' }), 400, 'BAD_REQUEST')

  const keysBefore = (await gw.redis.keys('gw:signin:*')).length
  for (const body of [{ purpose: 'login' }, { purpose: 1 }, { action: 'has space' }, { action: 'x'.repeat(65) }, { context: { ip: 'not an ip!' } },
    { context: { userAgent: 'x'.repeat(513) } }, { context: { extra: 1 } }, { context: 'ctx' }, { extra: true }, [], 'signin', 42,
    // A step-up needs its action; an action is only for a step-up; actions are lower case.
    { purpose: 'step-up' }, { purpose: 'step-up', action: '' }, { purpose: 'step-up', action: 'Change-Bank' }, { purpose: 'step-up', action: '-x' },
    { purpose: 'step-up', action: 'a'.repeat(65) }, { purpose: 'step-up', action: 42 }, { action: 'change-bank-details' }, { purpose: 'signin', action: 'x' },
    { rememberToken: 'rd_short' }, { rememberToken: `rd_${'A'.repeat(43)}=` }, { rememberToken: `RD_${'A'.repeat(43)}` }, { rememberToken: 42 }, { rememberToken: null }]) {
    expectError(t, await gw.call('POST', '/v1/signin', { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', '/v1/signin', { token, body: '{"purpose":' }), 400, 'BAD_REQUEST')
  t.equal((await gw.redis.keys('gw:signin:*')).length, keysBefore, 'no transaction was created')

  t.equal(fake.callsOf(username, 'verify'), 0, 'no verify reached the factor')
  t.equal(fake.callsOf(username, 'confirm'), 0, 'no confirm reached the factor')
  const flow = JSON.parse(await gw.redis.get(`gw:signin:${id}`) as string)
  t.match(flow, { state: 'challenge', attempts: 0, rev: 0 }, 'the transaction is untouched')
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
  t.equal(ok.json().status, 'verified', 'and still usable')
  gw.issued.push(ok.json().token)

  expectError(t, await gw.call('GET', '/v1/nothing-here', { token }), 404, 'NOT_FOUND')
})

t.test('step-up rule for /v1/me changes', async (t) => {
  const { username, token } = await loginAs(gw)

  t.test('without 2FA, the primary token is enough to enroll', async (t) => {
    const enroll = await gw.call('POST', '/v1/me/totp', { token })
    t.equal(enroll.statusCode, 200)
    t.match(enroll.json(), { enrollmentId: /^enr_/, secret: /^[A-Z2-7]{32}$/, otpauthUri: /^otpauth:/, qrSvg: /<svg/, expiresAt: String })
    const enrollmentId = enroll.json().enrollmentId as string
    const wrong = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: WRONG_CODE } })
    t.equal(wrong.statusCode, 200)
    t.same(wrong.json(), { status: 'rejected', reason: 'invalid_code' })
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_BBBBBBBBBBBBBBBBBBBBBB', code: '000000' } }), 404, 'NOT_FOUND')
    const ok = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: '000000' } })
    t.match(ok.json(), { status: 'confirmed', confirmedAt: String })
    t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'enrolled' })
  })

  t.test('with 2FA, changes need a fresh MFA token of the same user and application', async (t) => {
    const removesBefore = fake.callsOf(username, 'remove')
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('POST', '/v1/me/totp', { token }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_BBBBBBBBBBBBBBBBBBBBBB', code: '000000' } }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': 'garbage' } }), 403, 'STEP_UP_REQUIRED')
    t.equal((await gw.call('GET', '/v1/me/factors', { token })).statusCode, 200, 'reading needs no step-up')

    const someoneElse = await loginAs(gw)
    fake.enroll(someoneElse.username)
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': await mfaToken(gw, someoneElse.token) } }), 403, 'STEP_UP_REQUIRED')

    const otherApp = await loginAs(gw, username, 'other-app')
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': await mfaToken(gw, otherApp.token) } }), 403, 'STEP_UP_REQUIRED')

    const noFactor = await loginAs(gw)
    const aal1 = (await gw.call('POST', '/v1/signin', { token: noFactor.token })).json().token as string
    fake.enroll(noFactor.username)
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token: noFactor.token, headers: { 'x-mfa-token': aal1 } }), 403, 'STEP_UP_REQUIRED')

    const stale = await mfaToken(gw, token)
    clock.advance(601_000)
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': stale } }), 403, 'STEP_UP_REQUIRED')
    t.equal(fake.callsOf(username, 'remove'), removesBefore, 'nothing was removed')

    const fresh = await mfaToken(gw, token)
    const res = await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': fresh } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { removed: true })
    t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'none' })
  })
})

t.test('self-service: remembered devices listed and revoked one by one; disable', async (t) => {
  const { username, token } = await loginAs(gw)
  fake.enroll(username)
  const id = await startChallenge(gw, token)
  const remembered = await gw.call('POST', `/v1/signin/${id}/verify`, {
    token, headers: { 'user-agent': 'Safari on macOS' }, body: { method: 'totp', code: '000000', rememberDevice: true },
  })
  const rememberToken = remembered.json().rememberToken as string
  t.match(rememberToken, /^rd_[A-Za-z0-9_-]{43}$/)
  gw.issued.push(remembered.json().token, rememberToken)
  const second = (await gw.app.rememberedDevices.issue(username, { label: 'Firefox', days: 30 })).device

  const list = (await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices as Array<Record<string, string>>
  t.equal(list.length, 2)
  for (const d of list) t.same(Object.keys(d).sort(), ['createdAt', 'expiresAt', 'id', 'label', 'lastUsedAt'], 'never the token')
  t.notOk(JSON.stringify(list).includes(rememberToken))
  const first = list.find((d) => d.id !== second.id) as Record<string, string>
  t.equal(Date.parse(first.expiresAt as string) - Date.parse(first.createdAt as string), 30 * 24 * 3600_000, 'the default policy remembers for 30 days')

  // Revoking is a change under /v1/me: it follows the step-up rule.
  expectError(t, await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token }), 403, 'STEP_UP_REQUIRED')
  const mfa = await mfaToken(gw, token)
  const other = await loginAs(gw)
  t.same((await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token: other.token })).json(), { removed: false }, 'not another user\'s device')
  t.same((await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token, headers: { 'x-mfa-token': mfa } })).json(), { removed: true })
  t.same((await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token, headers: { 'x-mfa-token': mfa } })).json(), { removed: false })
  t.same((await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices.map((d: { id: string }) => d.id), [second.id])
  t.equal((await gw.call('POST', '/v1/signin', { token, body: { rememberToken } })).json().status, 'challenge', 'the revoked token no longer skips')
  for (const bad of ['x', 'rdv_short', `rdv_${'A'.repeat(22)}!`, 'RDV_AAAAAAAAAAAAAAAAAAAAAA', 'a'.repeat(190)]) {
    expectError(t, await gw.call('DELETE', `/v1/me/remembered-devices/${bad}`, { token, headers: { 'x-mfa-token': mfa } }), 400, 'BAD_REQUEST')
  }

  // Disable: the step-up rule, then user.reset; remembered devices go at once.
  const events: Array<{ userId: string, reason: string }> = []
  const sub = gw.nc.subscribe('warden.events.v1.user.reset', { callback: (_err, msg) => { events.push(msg.json()) } })
  t.teardown(() => { sub.unsubscribe() })
  await gw.nc.flush()
  expectError(t, await gw.call('POST', '/v1/me/disable', { token }), 403, 'STEP_UP_REQUIRED')
  for (const body of ['{"x":1}', '[]', '"yes"', '{"disabled":true}']) {
    expectError(t, await gw.call('POST', '/v1/me/disable', { token, headers: { 'x-mfa-token': mfa }, body }), 400, 'BAD_REQUEST')
  }
  t.equal(events.length, 0, 'nothing happened yet')
  t.equal((await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices.length, 1)
  const res = await gw.call('POST', '/v1/me/disable', { token, headers: { 'x-mfa-token': mfa } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { disabled: true })
  await gw.nc.flush()
  for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
  t.match(events, [{ userId: username, reason: 'disabled' }])
  t.same((await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices, [])

  // Without 2FA the primary token is enough (and {} is a body too).
  const plain = await loginAs(gw)
  t.same((await gw.call('POST', '/v1/me/disable', { token: plain.token, body: {} })).json(), { disabled: true })
})

t.test('degradation: a factor that does not answer', async (t) => {
  const withTotp = await loginAs(gw)
  fake.enroll(withTotp.username)
  const without = await loginAs(gw)
  await placeholders.get('push')?.()

  t.test('GET /v1/me/factors still answers at once, with that factor unavailable', async (t) => {
    const started = Date.now()
    const res = await gw.call('GET', '/v1/me/factors', { token: without.token })
    t.ok(Date.now() - started < 1_000, 'quick')
    t.equal(res.statusCode, 200)
    t.match(res.json(), { twoFactor: 'unknown' })
    t.same(res.json().factors.find((f: { factor: string }) => f.factor === 'push'), { factor: 'push', available: false })
    t.match(res.json().factors.find((f: { factor: string }) => f.factor === 'totp'), { available: true, enrolled: false })
  })

  t.test('a hanging factor costs DESCRIBE_TIMEOUT_MS, no more', async (t) => {
    const sub = gw.nc.subscribe(describePush.subject, { callback: () => {} }) // hears, never answers
    t.teardown(() => { sub.unsubscribe() })
    await gw.nc.flush()
    const started = Date.now()
    const res = await gw.call('GET', '/v1/me/factors', { token: withTotp.token })
    const elapsed = Date.now() - started
    t.ok(elapsed >= 250 && elapsed < 1_500, `bounded by the describe deadline (${elapsed} ms)`)
    t.match(res.json(), { twoFactor: 'enrolled' })
    t.same(res.json().factors[0], { factor: 'push', available: false })
  })

  t.test('sign-in keeps working for users of other factors, and fails closed for the rest', async (t) => {
    const res = await gw.call('POST', '/v1/signin', { token: withTotp.token })
    t.match(res.json(), { status: 'challenge', defaultMethod: 'totp' })
    t.same(res.json().methods, [{ method: 'push', available: false, items: [] }, { method: 'totp', available: true, createdAt: '2026-01-01T00:00:00.000Z', items: [] }],
      'the silent factor is listed as unavailable')
    const closed = await gw.call('POST', '/v1/signin', { token: without.token })
    expectError(t, closed, 503, 'UNAVAILABLE')
    t.ok(Number(closed.headers['retry-after']) > 0)
    expectError(t, await gw.call('POST', '/v1/me/totp', { token: without.token }), 503, 'UNAVAILABLE')
  })

  t.test('with the factor back, all is normal', async (t) => {
    const again = await startPlaceholders(t, gw.nc, ['push'])
    t.teardown(async () => { await again.get('push')?.() })
    t.match((await gw.call('GET', '/v1/me/factors', { token: without.token })).json(), { twoFactor: 'none' })
    t.equal((await gw.call('POST', '/v1/signin', { token: without.token })).json().status, 'not_required')
  })
})

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

t.test('logs never carry codes, tokens or secrets', async (t) => {
  const text = gw.log.text()
  t.ok(text.length > 0)
  t.ok(gw.issued.length > 10)
  // A JWT by its signature; an opaque remember-device token whole.
  for (const token of gw.issued) t.notOk(text.includes(token.includes('.') ? token.split('.')[2] as string : token), 'no token in the logs')
  t.ok(gw.issued.some((tok) => tok.startsWith('rd_')), 'remember-device tokens were checked too')
  t.notMatch(text, /rd_[A-Za-z0-9_-]{43}/, 'no remember-device token at all')
  t.notOk(text.includes(WRONG_CODE), 'no typed code')
  t.notOk(text.includes(gw.secret), 'no primary secret')
  t.notOk(text.includes('JBSWY3DPEHPK3PXP'), 'no TOTP secret')
  t.notOk(text.includes('otpauth://'), 'no otpauth URI')
  t.notOk(/authorization/i.test(text), 'no Authorization header')
})
