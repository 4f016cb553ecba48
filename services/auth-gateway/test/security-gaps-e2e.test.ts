// Issue 7, end to end through the public API: the gateway and the real factor-totp (one manual
// clock), the placeholder factor services as processes, real NATS and Redis. What an outside
// attack test found open: an enrollment token outliving the first factor (takeover), remembered
// devices outliving a factor's removal, MFA tokens outliving a reset or disable, a policy's
// stepUpMaxAgeSec not enforced, rejected verifications leaving no audit line, tokens in query
// strings written to the access log.
import t from 'tap'
import { decodeJwt, jwtVerify } from 'jose'
import { gatewayIntrospect, userReset } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { DEFAULT_ATTEMPT_LIMITS, throttleMs } from '@warden/service-kit'
import { createStepUpVerifier } from '@warden/step-up'
import { manualClock } from '@warden/testkit'
import { expectError, send, uniqueUsername } from './fixtures/gateway.js'
import { startTotpStack } from './fixtures/stack.js'
import { policy, totpUsers, type TotpUser } from './fixtures/totp-users.js'

const clock = manualClock(new Date())
const { gw, totpLog } = await startTotpStack(t, clock)
const { seen, codeOf, wrongCode, enrollAndConfirm, totpUser, tok, signinAs, verifyNext, rememberedSignin, jwks, checkLogs } = totpUsers(gw, clock)
const adminToken = await gw.login('admin')

/** What GET /v1/me/factors says about 2FA, once factor-totp has consumed a user.reset (bounded wait, not the clock). */
async function twoFactorOf (token: string, want: string): Promise<string> {
  let state = ''
  for (let i = 0; i < 100 && state !== want; i++) {
    state = (await gw.call('GET', '/v1/me/factors', { token })).json().twoFactor
    if (state !== want) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return state
}

/** A fresh MFA token (acr aal2) for a user with the app. */
async function freshMfa (u: TotpUser): Promise<string> {
  return (await verifyNext(u, (await signinAs(u)).transactionId)).token as string
}

const introspect = async (token: string) => request(gw.nc, gatewayIntrospect, { token })

t.test('takeover: a pre-confirmation enrollment token can neither start nor confirm an enrollment once a factor is confirmed, nor remove anything', async (t) => {
  const bank = uniqueUsername('bank')
  await gw.app.policies.put(bank, policy('required'))
  const username = uniqueUsername('victim')
  // The attacker knows the password: a sign-in at an application that requires 2FA, and a step-up
  // anywhere, both hand out an enrollment token while the user has no factor.
  const attackerSignin = await signinAs({ token: await gw.login(username, bank) })
  t.equal(attackerSignin.status, 'enrollment_required')
  const attackerToken = attackerSignin.enrollmentToken as string
  const attackerStepUp = await signinAs({ token: await gw.login(username, bank) }, { purpose: 'step-up', action: 'pay' })
  t.equal(attackerStepUp.status, 'enrollment_required')
  const stepUpToken = attackerStepUp.enrollmentToken as string
  t.match(decodeJwt(attackerToken), { token_use: 'enrollment', iat_ms: Number })

  // Before the victim has a factor the token works, as it should (the wizard).
  const early = await gw.call('POST', '/v1/me/totp', { token: await gw.login(username, bank), headers: { 'x-mfa-token': attackerToken } })
  t.equal(early.statusCode, 200, 'the enrollment token opens the wizard while there is no factor')
  seen.secrets.push(early.json().secret)

  // The victim signs in too, enrolls their own app with their own enrollment token, and confirms it.
  const victim = await gw.login(username, bank)
  const own = await signinAs({ token: victim })
  const e = (await gw.call('POST', '/v1/me/totp', { token: victim, headers: { 'x-mfa-token': own.enrollmentToken } })).json()
  seen.secrets.push(e.secret)
  t.match((await gw.call('POST', '/v1/me/totp/confirm', { token: victim, headers: { 'x-mfa-token': own.enrollmentToken }, body: { enrollmentId: e.enrollmentId, code: codeOf(e.secret) } })).json(), { status: 'confirmed' })
  const u: TotpUser = { username, clientId: bank, token: victim, secret: e.secret }

  // Every enrollment token issued before the confirmation is dead, the victim's own included.
  const attacker = await gw.login(username, bank)
  for (const [name, enrollmentToken] of [['sign-in', attackerToken], ['step-up', stepUpToken], ['victim\'s own', own.enrollmentToken as string]] as const) {
    const headers = { 'x-mfa-token': enrollmentToken }
    expectError(t, await gw.call('POST', '/v1/me/totp', { token: attacker, headers }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token: attacker, headers, body: { enrollmentId: early.json().enrollmentId, code: '123456' } }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token: attacker, headers }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('POST', '/v1/me/disable', { token: attacker, headers }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('DELETE', '/v1/me/remembered-devices/rdv_AAAAAAAAAAAAAAAAAAAAAA', { token: attacker, headers }), 403, `STEP_UP_REQUIRED`)
    t.comment(`the ${name} enrollment token is refused everywhere`)
  }
  t.equal((await introspect(attackerToken)).active, false, 'an enrollment token is never an active MFA token')

  // The victim's app is still theirs: it signs in, and the attacker's secret does not.
  const start = await signinAs(u)
  t.equal(start.status, 'challenge')
  clock.advance(30_000)
  const withAttackerApp = await gw.call('POST', `/v1/signin/${start.transactionId as string}/verify`, { token: await tok(u), body: { method: 'totp', code: codeOf(early.json().secret) } })
  t.equal(withAttackerApp.json().status, 'rejected', 'the attacker\'s authenticator was never bound')
  t.equal((await verifyNext(u, start.transactionId)).status, 'verified', 'the victim\'s app works')

  // A new enrollment now needs a real MFA token, and that works.
  const mfa = await freshMfa(u)
  const again = await gw.call('POST', '/v1/me/totp', { token: await tok(u), headers: { 'x-mfa-token': mfa } })
  t.equal(again.statusCode, 200)
  seen.secrets.push(again.json().secret)
})

t.test('a user without 2FA who enrolls with the primary token alone kills the enrollment tokens handed out before', async (t) => {
  const bank = uniqueUsername('bank')
  await gw.app.policies.put(bank, policy('required'))
  const username = uniqueUsername('plain')
  const stolen = (await signinAs({ token: await gw.login(username, bank) })).enrollmentToken as string
  // The user enrolls from another application, with no enrollment token at all.
  const token = await gw.login(username)
  await enrollAndConfirm(token)
  expectError(t, await gw.call('POST', '/v1/me/totp', { token: await gw.login(username, bank), headers: { 'x-mfa-token': stolen } }), 403, 'STEP_UP_REQUIRED')
})

t.test('remember tokens die with the removal of a factor (and with binding one)', async (t) => {
  const u = await totpUser()
  const rt = await rememberedSignin(u, '203.0.113.60')
  const mfa = await freshMfa(u)
  t.equal((await gw.call('GET', '/v1/me/factors', { token: await tok(u) })).json().rememberedDevices.length, 1)
  t.same((await gw.call('DELETE', '/v1/me/totp', { token: await tok(u), headers: { 'x-mfa-token': mfa } })).json(), { removed: true })
  t.same((await gw.call('GET', '/v1/me/factors', { token: await tok(u) })).json().rememberedDevices, [], 'revoked with the removal')

  // Enrolled again: the old remember token does not skip the new factor.
  const secret = await enrollAndConfirm(await tok(u))
  const back: TotpUser = { ...u, secret }
  t.equal((await signinAs(back, { rememberToken: rt, context: { ip: '203.0.113.60' } })).status, 'challenge', 'the old device is not remembered')

  // Binding a factor revokes too: a device remembered now, then a new authenticator bound (with a real MFA token).
  const rt2 = await rememberedSignin(back, '203.0.113.60')
  const mfa2 = await freshMfa(back)
  const e = (await gw.call('POST', '/v1/me/totp', { token: await tok(back), headers: { 'x-mfa-token': mfa2 } })).json()
  seen.secrets.push(e.secret)
  t.match((await gw.call('POST', '/v1/me/totp/confirm', { token: await tok(back), headers: { 'x-mfa-token': mfa2 }, body: { enrollmentId: e.enrollmentId, code: codeOf(e.secret) } })).json(), { status: 'confirmed' })
  t.equal((await signinAs(back, { rememberToken: rt2, context: { ip: '203.0.113.60' } })).status, 'challenge', 'binding revoked the device')
  // Binding with an MFA token is not a first factor: that MFA token still works.
  t.equal((await gw.call('DELETE', '/v1/me/remembered-devices/rdv_AAAAAAAAAAAAAAAAAAAAAA', { token: await tok(back), headers: { 'x-mfa-token': mfa2 } })).statusCode, 200)
})

t.test('MFA tokens issued before an admin reset are refused after it, including once the user has enrolled again; resource servers learn it', async (t) => {
  const u = await totpUser()
  const before = await freshMfa(u)
  const seenBefore = await introspect(before)
  t.match(seenBefore, { active: true, sub: u.username, acr: 'aal2', amr: ['otp', 'mfa'], validAfter: String })
  t.ok(Date.parse((seenBefore as { validAfter: string }).validAfter) < (decodeJwt(before).iat_ms as number), 'the cutoff so far is the first factor, before the token')

  // A resource server listening to the events (a JetStream publish reaches plain subscribers too).
  const events: Array<Record<string, string>> = []
  const sub = gw.nc.subscribe(userReset.subject, { callback: (_err, msg) => { events.push(msg.json()) } })
  t.teardown(() => { sub.unsubscribe() })
  await gw.nc.flush()

  const reset = await send(gw.app, 'POST', `/v1/admin/users/${u.username}/reset`, { token: adminToken })
  t.equal(reset.statusCode, 202)
  t.equal(await twoFactorOf(await tok(u), 'none'), 'none', 'factor-totp deleted the app')

  // The event carries the cutoff, for resource servers that consume it.
  const event = events.find((e) => e.userId === u.username)
  t.match(event, { eventId: reset.json().eventId, userId: u.username, reason: 'admin', validAfter: String })
  const validAfter = Date.parse(event?.validAfter ?? '')
  t.ok(validAfter >= (decodeJwt(before).iat_ms as number), 'the cutoff is not before the old token')

  const secret = await enrollAndConfirm(await tok(u))
  const back: TotpUser = { ...u, secret }
  // Still inside its life and its 10 minutes: refused because it predates the reset.
  expectError(t, await gw.call('DELETE', '/v1/me/totp', { token: await tok(back), headers: { 'x-mfa-token': before } }), 403, 'STEP_UP_REQUIRED')
  t.same(await introspect(before), { active: false })
  const after = await freshMfa(back)
  const active = await introspect(after)
  t.match(active, { active: true, sub: u.username, validAfter: String })
  t.ok(Date.parse((active as { validAfter: string }).validAfter) >= validAfter, 'the user\'s cutoff, as the event told it (or later)')

  // @warden/step-up with the cutoff from the event refuses the old token and passes the new one.
  const keys = (await gw.call('GET', '/.well-known/jwks.json')).json()
  const resourceServer = createStepUpVerifier({ jwks: keys, issuer: 'warden', audience: 'demo-app', validAfter: (sub) => sub === u.username ? validAfter : undefined })
  t.match(await resourceServer.check(`Bearer ${before}`, {}, clock.now()), { ok: false, error: 'invalid_token', description: 'the token was revoked' })
  t.match(await resourceServer.check(`Bearer ${after}`, {}, clock.now()), { ok: true })

  t.equal((await gw.call('DELETE', '/v1/me/totp', { token: await tok(back), headers: { 'x-mfa-token': after } })).statusCode, 200, 'a token from after the reset works')
})

t.test('MFA tokens issued before the user\'s own disable are refused after it, including once enrolled again', async (t) => {
  const u = await totpUser()
  const rt = await rememberedSignin(u, '203.0.113.61')
  const mfa = await freshMfa(u)
  t.same((await gw.call('POST', '/v1/me/disable', { token: await tok(u), headers: { 'x-mfa-token': mfa } })).json(), { disabled: true })
  t.equal(await twoFactorOf(await tok(u), 'none'), 'none')
  const back: TotpUser = { ...u, secret: await enrollAndConfirm(await tok(u)) }
  expectError(t, await gw.call('POST', '/v1/me/disable', { token: await tok(back), headers: { 'x-mfa-token': mfa } }), 403, 'STEP_UP_REQUIRED')
  t.equal((await signinAs(back, { rememberToken: rt, context: { ip: '203.0.113.61' } })).status, 'challenge', 'no remembered device either')
  t.same(await introspect(mfa), { active: false })
})

t.test('the introspect verb refuses malformed requests with BAD_REQUEST', async (t) => {
  for (const body of ['{}', '{"token":"x"}', '{"token":"a.b.c","extra":1}', 'not json', '{"token":7}', `{"token":"a.${'b'.repeat(9000)}.c"}`]) {
    const res = await gw.nc.request(gatewayIntrospect.subject, body, { timeout: 2_000 })
    t.equal(res.headers?.get('Nats-Service-Error-Code'), '400', body.slice(0, 40))
    t.match(res.json(), { code: 'BAD_REQUEST' })
  }
  t.same(await introspect('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), { active: false }, 'a well-formed forgery is inactive, not an error')
})

t.test('a policy\'s stepUpMaxAgeSec is enforced for changes and for step-up (moved clock), else STEP_UP_MAX_AGE_SEC', async (t) => {
  const strict = uniqueUsername('strict')
  t.equal((await send(gw.app, 'PUT', `/v1/admin/policies/${strict}`, { token: adminToken, body: { mode: 'adaptive', stepUpMaxAgeSec: 60 } })).statusCode, 200)
  const u = await totpUser(strict)
  const mfa = await freshMfa(u)
  const change = async (token: string) => gw.call('DELETE', '/v1/me/remembered-devices/rdv_AAAAAAAAAAAAAAAAAAAAAA', { token: await tok(u), headers: { 'x-mfa-token': token } })
  clock.advance(55_000)
  t.equal((await change(mfa)).statusCode, 200, '55 s old: within the policy\'s 60 s')
  clock.advance(11_000)
  expectError(t, await change(mfa), 403, 'STEP_UP_REQUIRED')

  // An application without a policy of its own: the global 600 s.
  const loose = await totpUser()
  const looseMfa = await freshMfa(loose)
  const looseChange = async () => gw.call('DELETE', '/v1/me/remembered-devices/rdv_AAAAAAAAAAAAAAAAAAAAAA', { token: await tok(loose), headers: { 'x-mfa-token': looseMfa } })
  clock.advance(66_000)
  t.equal((await looseChange()).statusCode, 200, '66 s old, no policy: within STEP_UP_MAX_AGE_SEC')
  clock.advance(540_000)
  expectError(t, await looseChange(), 403, 'STEP_UP_REQUIRED')

  // Step-up: the token lives no longer than the policy's stepUpMaxAgeSec; a sign-in's lives MFA_TOKEN_TTL_SEC.
  const stepUp = await verifyNext(u, (await signinAs(u, { purpose: 'step-up', action: 'pay' })).transactionId)
  const issuedAt = clock.now().getTime()
  const claims = decodeJwt(stepUp.token)
  t.equal((claims.exp as number) - (claims.iat as number), 60)
  const signin = decodeJwt(await freshMfa(u))
  t.equal((signin.exp as number) - (signin.iat as number), 900)
  const keys = await jwks()
  t.ok(await jwtVerify(stepUp.token, keys, { currentDate: new Date(issuedAt + 55_000) }), 'valid at 55 s')
  await t.rejects(jwtVerify(stepUp.token, keys, { currentDate: new Date(issuedAt + 66_000) }), { code: 'ERR_JWT_EXPIRED' }, 'expired at 66 s')
  const looseStepUp = decodeJwt((await verifyNext(loose, (await signinAs(loose, { purpose: 'step-up', action: 'pay' })).transactionId)).token)
  t.equal((looseStepUp.exp as number) - (looseStepUp.iat as number), 600, 'no policy: STEP_UP_MAX_AGE_SEC')
})

t.test('every verification writes one audit line with its reason, application and peer IP, never the code', async (t) => {
  const app = uniqueUsername('audited')
  const u = await totpUser(app)
  const ip = '203.0.113.77'
  const auditLines = (transactionId: string) => gw.log.lines().map((l) => JSON.parse(l) as Record<string, any>)
    .filter((l) => l.audit === 'second_factor' && l.transactionId === transactionId)
  const verify = async (id: string, code: string) => send(gw.app, 'POST', `/v1/signin/${id}/verify`, { token: await tok(u), body: { method: 'totp', code }, ip })

  clock.advance(30_000)
  const id = (await signinAs(u)).transactionId as string
  const codes: string[] = []
  const expect = async (code: string, status: number, want: Record<string, unknown>) => {
    codes.push(code)
    const before = auditLines(id).length
    t.equal((await verify(id, code)).statusCode, status)
    const lines = auditLines(id)
    t.equal(lines.length, before + 1, `one line for ${JSON.stringify(want)}`)
    t.match(lines.at(-1), { level: 30, msg: String, userId: u.username, transactionId: id, factor: 'totp', purpose: 'signin', clientId: app, ip, ...want })
    t.notOk('code' in (lines.at(-1) ?? {}), 'no code field')
  }
  const now = codeOf(u.secret)
  await expect(wrongCode(u.secret), 200, { outcome: 'rejected', reason: 'invalid_code', attemptsLeft: 9 })
  await expect(codeOf(u.secret, -3), 200, { outcome: 'rejected', reason: 'clock_skew' })
  await expect(now, 200, { outcome: 'verified' })
  t.equal(auditLines(id).at(-1)?.msg, 'second factor verified')

  // The same code again, in a new transaction: replayed.
  const id2 = (await signinAs(u)).transactionId as string
  t.equal((await verify(id2, now)).json().reason, 'replayed')
  t.match(auditLines(id2), [{ outcome: 'rejected', reason: 'replayed', transactionId: id2 }])

  // Throttled (from the 4th failure each attempt waits), then locked: refusals too, with their reason.
  const v = await totpUser(app)
  clock.advance(30_000)
  const id3 = (await signinAs(v)).transactionId as string
  const verifyV = async (code: string) => send(gw.app, 'POST', `/v1/signin/${id3}/verify`, { token: await tok(v), body: { method: 'totp', code }, ip })
  let attempts = 0
  let locked = false
  for (let i = 1; i <= 12 && !locked; i++) {
    attempts++
    const res = await verifyV(wrongCode(v.secret, i))
    locked = res.statusCode === 429 && res.json().error.code === 'FACTOR_LOCKED'
    if (i === 4) {
      attempts++
      t.equal((await verifyV(codeOf(v.secret))).json().error.code, 'RATE_LIMITED')
      t.match(auditLines(id3).at(-1), { outcome: 'rejected', reason: 'throttled', userId: v.username })
    }
    clock.advance(throttleMs(i, DEFAULT_ATTEMPT_LIMITS))
  }
  t.ok(locked, 'locked')
  t.match(auditLines(id3).at(-1), { outcome: 'rejected', reason: 'locked' })
  t.equal(auditLines(id3).length, attempts, `every attempt is audited once (${attempts})`)

  // Never a code in any audit line.
  const text = gw.log.lines().filter((l) => l.includes('"audit":"second_factor"')).join('')
  for (const c of codes) t.notOk(text.includes(`"${c}"`), 'no code')
})

t.test('a token in a query string is refused and never written to the log', async (t) => {
  const u = await totpUser()
  const mfa = await freshMfa(u)
  const primary = await tok(u)
  const res = await gw.call('GET', `/v1/me/factors?access_token=${primary}&mfa=${mfa}`)
  expectError(t, res, 401, 'UNAUTHENTICATED')
  const text = gw.log.text()
  t.notOk(text.includes(mfa.split('.')[2] as string), 'the MFA token is not in the log')
  t.notOk(text.includes(primary.split('.')[2] as string), 'nor the primary token')
  t.match(text, /"url":"\/v1\/me\/factors\?\[Redacted\]"/, 'the access log shows the path only')
  t.notMatch(text, /access_token=/)
})

t.test('no service logs secrets, codes, URIs or tokens', async (t) => {
  checkLogs(t, gw.log.text() + totpLog.text())
})
