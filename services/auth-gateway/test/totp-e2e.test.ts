// End to end: the gateway and the real factor-totp service (in this process), over real NATS and
// Redis, with one manual clock for both so codes are computed exactly as an authenticator app would;
// the other factor services run as the built placeholder processes (they answer NOT_ENROLLED).
// Enrollment, sign-in, replay, the lock, disable and a factor going away are driven here through the
// REST API; sign-in statuses, remember-device, policies and step-up are in signin-policies-e2e.test.ts.
import t from 'tap'
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import { DEFAULT_ATTEMPT_LIMITS, throttleMs } from '@warden/service-kit'
import { manualClock } from '@warden/testkit'
import { expectError, uniqueUsername } from './fixtures/gateway.js'
import { startTotpStack } from './fixtures/stack.js'
import { totpUsers } from './fixtures/totp-users.js'

const clock = manualClock(new Date())
const { gw, totpLog, placeholders } = await startTotpStack(t, clock)
const sms = placeholders.get('factor-sms')
const { seen, codeOf, wrongCode, enrollAndConfirm, totpUser, signinAs, verifyNext, rememberedSignin, checkLogs } = totpUsers(gw, clock)

t.test('the whole TOTP flow: enroll, confirm, sign in, verify, replay, step-up, remove', async (t) => {
  const username = uniqueUsername('e2e')
  const token = await gw.login(username)
  seen.tokens.push(token)

  const before = await gw.call('GET', '/v1/me/factors', { token })
  t.match(before.json(), { twoFactor: 'none', factors: [{ factor: 'push', available: true }, { factor: 'webauthn' }, { factor: 'totp', available: true, enrolled: false }] })
  t.equal((await gw.call('POST', '/v1/signin', { token })).json().status, 'not_required')

  // Enroll: a secret, an otpauth URI naming the user, a QR code.
  const enroll = await gw.call('POST', '/v1/me/totp', { token })
  t.equal(enroll.statusCode, 200)
  const e = enroll.json() as { enrollmentId: string, secret: string, otpauthUri: string, qrSvg: string, expiresAt: string }
  seen.secrets.push(e.secret)
  t.match(e.secret, /^[A-Z2-7]{32}$/)
  t.match(e.otpauthUri, /^otpauth:\/\/totp\//)
  t.ok(e.otpauthUri.includes(username), 'the account name is the username')
  t.ok(e.otpauthUri.includes(`secret=${e.secret}`))
  t.match(e.qrSvg, /<svg/)
  t.ok(Date.parse(e.expiresAt) > clock.now().getTime())

  // Confirm: a wrong code is an answer; the right one activates the factor.
  const wrong = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: e.enrollmentId, code: wrongCode(e.secret) } })
  t.equal(wrong.statusCode, 200)
  t.match(wrong.json(), { status: 'rejected', reason: /invalid_code|clock_skew/ })
  const stranger = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA', code: codeOf(e.secret) } })
  t.equal(stranger.statusCode, 404)
  t.equal(stranger.json().error.code, 'NOT_FOUND')
  const confirmCode = codeOf(e.secret)
  const confirmed = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: e.enrollmentId, code: confirmCode } })
  t.match(confirmed.json(), { status: 'confirmed', confirmedAt: String })
  t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'enrolled', factors: [{}, {}, { factor: 'totp', enrolled: true, createdAt: String }] })

  // Sign in: a challenge offering TOTP.
  const start = await gw.call('POST', '/v1/signin', { token })
  t.match(start.json(), { status: 'challenge', methods: [{ method: 'totp', available: true }], defaultMethod: 'totp' })
  const id = start.json().transactionId as string

  // The code that confirmed the enrollment cannot sign in (its step is used).
  t.same((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: confirmCode } })).json(),
    { status: 'rejected', reason: 'replayed', attemptsLeft: 9 })

  // A code from a phone whose clock is 3 steps behind: refused, with the offset for the UI.
  const skewed = (await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: codeOf(e.secret, -3) } })).json()
  t.match(skewed, { status: 'rejected', reason: 'clock_skew', attemptsLeft: 8 })
  t.ok(skewed.offsetSec <= -60 && skewed.offsetSec >= -120, `offsetSec ${skewed.offsetSec as number} is about -90`)

  clock.advance(30_000)
  const code = codeOf(e.secret)
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().status, 'verified')
  const mfa = ok.json().token as string
  seen.tokens.push(mfa)

  // The MFA token verifies against the published keys.
  const keys = (await gw.call('GET', '/.well-known/jwks.json')).json() as { keys: JWK[] }
  const { payload, protectedHeader } = await jwtVerify(mfa, createLocalJWKSet(keys), {
    issuer: 'warden', audience: 'demo-app', algorithms: ['ES256'], currentDate: clock.now(),
  })
  t.equal(protectedHeader.kid, keys.keys[0]?.kid)
  t.match(payload, { sub: username, aud: 'demo-app', iss: 'warden', amr: ['otp', 'mfa'], acr: 'aal2', token_use: 'mfa' })
  t.equal((payload.exp as number) - (payload.iat as number), 900)

  // The transaction is consumed, and the same code in a new transaction is a replay.
  t.equal((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code } })).statusCode, 409)
  const second = (await gw.call('POST', '/v1/signin', { token })).json().transactionId as string
  const replay = await gw.call('POST', `/v1/signin/${second}/verify`, { token, body: { method: 'totp', code } })
  t.equal(replay.statusCode, 200)
  t.match(replay.json(), { status: 'rejected', reason: 'replayed' })

  // Step-up: removing the factor needs that fresh MFA token.
  const refused = await gw.call('DELETE', '/v1/me/totp', { token })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().error.code, 'STEP_UP_REQUIRED')
  t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'enrolled' }, 'still there')
  const removed = await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': mfa } })
  t.equal(removed.statusCode, 200)
  t.same(removed.json(), { removed: true })
  t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'none', factors: [{}, {}, { factor: 'totp', enrolled: false }] })
  t.equal((await gw.call('POST', '/v1/signin', { token })).json().status, 'not_required')
})

t.test('the lock surfaces as 429 with Retry-After, refuses even the right code, and shows in the methods', async (t) => {
  const username = uniqueUsername('lock')
  const token = await gw.login(username)
  seen.tokens.push(token)
  const secret = await enrollAndConfirm(token)
  clock.advance(30_000)
  const id = (await gw.call('POST', '/v1/signin', { token })).json().transactionId as string
  const verify = (code: string) => gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code } })

  let locked: Awaited<ReturnType<typeof gw.call>> | undefined
  let lastLeft = Infinity
  for (let i = 1; i <= 12 && locked === undefined; i++) {
    const res = await verify(wrongCode(secret, i))
    if (res.statusCode === 429) { locked = res; break }
    t.equal(res.statusCode, 200)
    const left = res.json().attemptsLeft as number
    t.ok(left < lastLeft, `attemptsLeft goes down (${left})`)
    lastLeft = left
    if (i === 4) {
      // Three failures are free; from the 4th on each attempt waits 2^(n-3) s, the right code too.
      const early = await verify(codeOf(secret))
      expectError(t, early, 429, 'RATE_LIMITED')
      t.equal(early.headers['retry-after'], '2')
    }
    clock.advance(throttleMs(i, DEFAULT_ATTEMPT_LIMITS))
  }
  if (locked === undefined) throw new Error('never locked')
  t.equal(locked.json().error.code, 'FACTOR_LOCKED')
  const retryAfter = Number(locked.headers['retry-after'])
  t.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`)
  t.equal(locked.json().error.retryAfterSec, retryAfter)

  const right = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: codeOf(secret) } })
  t.equal(right.statusCode, 429, 'the right code is refused while locked')

  const view = (await gw.call('GET', `/v1/signin/${id}`, { token })).json()
  t.match(view, { status: 'challenge', methods: [{ method: 'totp', available: true, lockedUntil: String }] })
  t.match((await gw.call('GET', '/v1/me/factors', { token })).json().factors[2], { factor: 'totp', lockedUntil: String })

  // After the lock, the factor works again.
  clock.advance((retryAfter + 1) * 1000)
  const again = (await gw.call('POST', '/v1/signin', { token })).json().transactionId as string
  const res = await gw.call('POST', `/v1/signin/${again}/verify`, { token, body: { method: 'totp', code: codeOf(secret) } })
  t.equal(res.json().status, 'verified')
  seen.tokens.push(res.json().token)
})

t.test('placeholder factor services: their methods are 409 NOT_ENROLLED; TOTP still works', async (t) => {
  const u = await totpUser()
  const { transactionId: id } = await signinAs(u)
  for (const body of [{ method: 'push' }, { method: 'push', deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA' }, { method: 'sms' }, { method: 'sms', phoneId: 'phn_AAAAAAAAAAAAAAAAAAAAAA' }, { method: 'webauthn' }]) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token: u.token, body }), 409, 'NOT_ENROLLED')
  }
  for (const body of [
    { method: 'sms', code: '123456' },
    { method: 'webauthn', response: { id: 'cred', type: 'public-key' } },
    { method: 'recovery', code: 'ABCD-EFGH-IJKL-MNOP', recoveryMode: 'temporary' },
    { method: 'recovery', code: 'ABCDEFGHIJKLMNOP', recoveryMode: 'permanent' },
  ]) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token: u.token, body }), 409, 'NOT_ENROLLED')
  }
  expectError(t, await gw.call('GET', `/v1/signin/${id}/push/pch_AAAAAAAAAAAAAAAAAAAAAA?waitSec=1`, { token: u.token }), 404, 'NOT_FOUND')
  t.same((await gw.call('POST', `/v1/signin/${id}/challenge`, { token: u.token, body: { method: 'totp' } })).json(), {})
  t.equal((await verifyNext(u, id)).status, 'verified')
})

t.test('disable: with a fresh second factor, every factor goes (factor-totp consumes user.reset)', async (t) => {
  const u = await totpUser()
  const rt = await rememberedSignin(u, '203.0.113.40')
  expectError(t, await gw.call('POST', '/v1/me/disable', { token: u.token }), 403, 'STEP_UP_REQUIRED')
  const mfa = (await verifyNext(u, (await signinAs(u)).transactionId)).token as string
  t.same((await gw.call('POST', '/v1/me/disable', { token: u.token, headers: { 'x-mfa-token': mfa } })).json(), { disabled: true })
  // The event is consumed asynchronously by factor-totp: wait for it (bounded), not for the clock.
  let state = ''
  for (let i = 0; i < 100 && state !== 'none'; i++) {
    state = (await gw.call('GET', '/v1/me/factors', { token: u.token })).json().twoFactor
    if (state !== 'none') await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(state, 'none', 'factor-totp deleted the user\'s authenticator app')
  t.equal((await signinAs(u, { rememberToken: rt, context: { ip: '203.0.113.40' } })).status, 'not_required', 'no 2FA, no remembered device')
})

// Last: it stops a factor service process for good.
t.test('a factor service process stopped mid-test: unavailable within 1 s, the others keep working', async (t) => {
  const u = await totpUser()
  const { transactionId: id } = await signinAs(u)
  await sms?.stop()
  const started = Date.now()
  const view = await gw.call('GET', `/v1/signin/${id}`, { token: u.token })
  const elapsed = Date.now() - started
  t.ok(elapsed < 1_000, `answered in ${elapsed} ms`)
  t.match(view.json(), { status: 'challenge', defaultMethod: 'totp', methods: [{ method: 'totp', available: true }, { method: 'sms', available: false }] })
  t.match((await gw.call('GET', '/v1/me/factors', { token: u.token })).json().factors, [{ factor: 'push', available: true }, { factor: 'webauthn', available: true }, { factor: 'totp', available: true }, { factor: 'sms', available: false }, { factor: 'recovery', available: true }])
  const t0 = Date.now()
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token: u.token, body: { method: 'sms', phoneId: 'phn_AAAAAAAAAAAAAAAAAAAAAA' } }), 503, 'UNAVAILABLE')
  t.ok(Date.now() - t0 < 1_000, 'no hang')
  t.equal((await verifyNext(u, id)).status, 'verified', 'TOTP still works')
  // Without any factor, the gateway cannot tell whether the missing service holds one: it fails closed.
  expectError(t, await gw.call('POST', '/v1/signin', { token: await gw.login(uniqueUsername('e2e')) }), 503, 'UNAVAILABLE')
})

t.test('neither service logs secrets, codes, URIs or tokens', async (t) => {
  t.ok(seen.secrets.length >= 2)
  checkLogs(t, gw.log.text() + totpLog.text())
})
