// End to end, through the REST API, with the real factor-totp (in this process, on one manual clock
// with the gateway) and the placeholder factor services as processes, over real NATS and Redis:
// every status of POST /v1/signin, remember this device, the three policy modes and step-up.
import t from 'tap'
import { decodeJwt, jwtVerify } from 'jose'
import { createStepUpVerifier } from '@warden/step-up'
import { eventually, manualClock } from '@warden/testkit'
import { expectError, hsToken, send, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startTotpStack } from './fixtures/stack.js'
import { policy, totpUsers, type TotpUser } from './fixtures/totp-users.js'

const clock = manualClock(new Date())
const { gw, totpLog } = await startTotpStack(t, clock)
const DAY = 24 * 3600_000
const { seen, codeOf, wrongCode, totpUser, tok, signinAs, verifyNext, rememberedSignin, jwks, checkLogs } = totpUsers(gw, clock)

t.test('every status of POST /v1/signin: challenge, skipped, not_required, enrollment_required', async (t) => {
  const app = uniqueUsername('app')
  const bank = uniqueUsername('bank')
  await gw.app.policies.put(bank, policy('required'))

  const nobody = await gw.login(uniqueUsername('e2e'), app)
  const notRequired = await signinAs({ token: nobody })
  t.same(Object.keys(notRequired).sort(), ['status', 'token'])
  t.equal(notRequired.status, 'not_required')
  t.match((await jwtVerify(notRequired.token, await jwks(), { audience: app, currentDate: clock.now() })).payload, { acr: 'aal1', amr: [], token_use: 'mfa' })

  const mustEnroll = await gw.login(uniqueUsername('e2e'), bank)
  const enroll = await signinAs({ token: mustEnroll })
  t.same(Object.keys(enroll).sort(), ['enrollmentToken', 'status', 'steps'])
  t.match(enroll, { status: 'enrollment_required', steps: ['push', 'webauthn', 'totp', 'sms'] })
  t.match(decodeJwt(enroll.enrollmentToken), { token_use: 'enrollment', acr: 'aal1', aud: bank })
  // The wizard: the enrollment token carries the user to their first factor, and no further
  // (issue 7: once a factor is confirmed, a password-only holder must not bind another).
  const e = (await gw.call('POST', '/v1/me/totp', { token: mustEnroll, headers: { 'x-mfa-token': enroll.enrollmentToken } })).json()
  seen.secrets.push(e.secret)
  t.match((await gw.call('POST', '/v1/me/totp/confirm', { token: mustEnroll, body: { enrollmentId: e.enrollmentId, code: codeOf(e.secret) } })).json(), { status: 'confirmed' })
  expectError(t, await gw.call('POST', '/v1/me/totp', { token: mustEnroll, headers: { 'x-mfa-token': enroll.enrollmentToken } }), 403, 'STEP_UP_REQUIRED')
  expectError(t, await gw.call('POST', '/v1/me/totp', { token: mustEnroll }), 403, 'STEP_UP_REQUIRED')
  expectError(t, await gw.call('DELETE', '/v1/me/totp', { token: mustEnroll, headers: { 'x-mfa-token': enroll.enrollmentToken } }), 403, 'STEP_UP_REQUIRED')
  t.equal((await signinAs({ token: mustEnroll })).status, 'challenge', 'enrolled: now asked')

  const u = await totpUser(app)
  const challenge = await signinAs(u)
  t.match(challenge, { status: 'challenge', transactionId: /^txn_/, expiresAt: String, defaultMethod: 'totp' })
  t.same(challenge.methods, [{ method: 'totp', available: true, createdAt: challenge.methods[0].createdAt, items: [] }], 'placeholders have nothing enrolled')
  const rt = await rememberedSignin(u, '203.0.113.10')
  const skipped = await signinAs(u, { rememberToken: rt, context: { ip: '203.0.113.10' } })
  t.same(Object.keys(skipped).sort(), ['rememberToken', 'status', 'token'])
  t.equal(skipped.status, 'skipped')
  t.match((await jwtVerify(skipped.token, await jwks(), { audience: app, currentDate: clock.now() })).payload, { sub: u.username, acr: 'aal1', amr: [], remembered: true, token_use: 'mfa' })
  // A skip is no second factor: it never stands in for a step-up.
  expectError(t, await gw.call('DELETE', '/v1/me/totp', { token: u.token, headers: { 'x-mfa-token': skipped.token } }), 403, 'STEP_UP_REQUIRED')
})

t.test('remember this device: skip, rotation, step-up refusal without spending, risk, revocation, expiry', async (t) => {
  const app = uniqueUsername('app')
  const u = await totpUser(app)
  const home = '198.51.100.20'

  const r1 = await rememberedSignin(u, home)
  t.match(r1, /^rd_[A-Za-z0-9_-]{43}$/)

  // Skip, from the same /24 (adaptive default policy: known network, no recent failures).
  const s1 = await signinAs(u, { rememberToken: r1, context: { ip: '198.51.100.77' } })
  t.equal(s1.status, 'skipped')
  const r2 = s1.rememberToken as string
  t.not(r2, r1, 'rotated')
  // Rotation: the spent token is refused (asked again), and does not spend the new one.
  t.equal((await signinAs(u, { rememberToken: r1, context: { ip: home } })).status, 'challenge', 'the old token is refused after use')

  // Step-up: always a challenge, and the device token is not spent.
  const stepUp = await signinAs(u, { purpose: 'step-up', action: 'change-bank-details', rememberToken: r2, context: { ip: home } })
  t.equal(stepUp.status, 'challenge', 'a remembered device never satisfies a step-up')
  const stepped = await verifyNext(u, stepUp.transactionId, { rememberDevice: true })
  t.equal(stepped.rememberToken, undefined, 'no remembering on a step-up')
  const claims = (await jwtVerify(stepped.token, await jwks(), { audience: app, currentDate: clock.now() })).payload
  t.match(claims, { action: 'change-bank-details', acr: 'aal2', amr: ['otp', 'mfa'], auth_time: Math.floor(clock.now().getTime() / 1000) })
  // What a resource server sees through @warden/step-up: the step-up token passes; a skip's does not.
  const resourceServer = createStepUpVerifier({ jwks: { keys: (await gw.call('GET', '/.well-known/jwks.json')).json().keys }, issuer: 'warden', audience: app })
  const need = { action: 'change-bank-details', maxAgeSec: 300 }
  t.match(await resourceServer.check(`Bearer ${stepped.token as string}`, need, clock.now()), { ok: true, claims: { sub: u.username } })
  t.match(await resourceServer.check(`Bearer ${s1.token as string}`, need, clock.now()), { ok: false, error: 'insufficient_user_authentication' })
  t.match(await resourceServer.check(`Bearer ${s1.token as string}`, { maxAgeSec: 300 }, clock.now()), { ok: false, error: 'insufficient_user_authentication' }, 'a skip is no second factor even without an action')
  const s2 = await signinAs(u, { rememberToken: r2, context: { ip: home } })
  t.equal(s2.status, 'skipped', 'the step-up left the token alive')
  let current = s2.rememberToken as string

  // Adaptive: another network asks, and does not spend the token either.
  t.equal((await signinAs(u, { rememberToken: current, context: { ip: '192.0.2.50' } })).status, 'challenge', 'another /24')
  t.equal((await signinAs(u, { rememberToken: current, context: { ip: '2001:db8:1::1' } })).status, 'challenge', 'IPv6 /48 never seen')
  const s3 = await signinAs(u, { rememberToken: current, context: { ip: home } })
  t.equal(s3.status, 'skipped')
  current = s3.rememberToken

  // Adaptive: a recent second-factor failure asks; a day later it no longer counts.
  const failing = await signinAs(u, { context: { ip: home } })
  clock.advance(30_000)
  const wrong = await gw.call('POST', `/v1/signin/${failing.transactionId}/verify`, { token: await tok(u), body: { method: 'totp', code: wrongCode(u.secret) } })
  t.equal(wrong.json().status, 'rejected')
  t.equal((await signinAs(u, { rememberToken: current, context: { ip: home } })).status, 'challenge', 'recent failures')
  clock.advance(DAY + 60_000)
  const s4 = await signinAs(u, { rememberToken: current, context: { ip: home } })
  t.equal(s4.status, 'skipped', 'failures age out')
  current = s4.rememberToken

  // Without context.ip the request's own address is judged (inject: 127.0.0.1): a network never verified here.
  t.equal((await signinAs(u, { rememberToken: current })).status, 'challenge', 'the request IP is a new network')

  // Revocation, one by one.
  const listed = (await gw.call('GET', '/v1/me/factors', { token: await tok(u) })).json().rememberedDevices
  t.equal(listed.length, 1, 'rotation keeps one device, the step-up added none')
  t.match(listed[0], { id: /^rdv_/, label: 'Firefox on Linux' })
  const fresh = await verifyNext(u, (await signinAs(u, { context: { ip: home } })).transactionId)
  const revoked = await gw.call('DELETE', `/v1/me/remembered-devices/${listed[0].id}`, { token: await tok(u), headers: { 'x-mfa-token': fresh.token } })
  t.same(revoked.json(), { removed: true })
  t.equal((await signinAs(u, { rememberToken: current, context: { ip: home } })).status, 'challenge', 'revoked')

  // Expiry: 30 days on the clock.
  const r5 = await rememberedSignin(u, home)
  clock.advance(29 * DAY)
  const s5 = await signinAs(u, { rememberToken: r5, context: { ip: home } })
  t.equal(s5.status, 'skipped', 'day 29: still remembered')
  clock.advance(DAY + 60_000)
  t.equal((await signinAs(u, { rememberToken: s5.rememberToken, context: { ip: home } })).status, 'challenge', 'day 30: expired (rotation does not extend it)')
  t.same((await gw.call('GET', '/v1/me/factors', { token: await tok(u) })).json().rememberedDevices, [])
})

t.test('the three policy modes, per application', async (t) => {
  const [req, ada, off, short, never] = [uniqueUsername('req'), uniqueUsername('ada'), uniqueUsername('off'), uniqueUsername('short'), uniqueUsername('never')]
  await gw.app.policies.put(req, policy('required'))
  await gw.app.policies.put(ada, policy('adaptive'))
  await gw.app.policies.put(off, policy('off'))
  await gw.app.policies.put(short, policy('required', 7))
  await gw.app.policies.put(never, policy('required', 0))
  const home = '203.0.113.30'
  const away = '203.0.114.30'

  // Users without 2FA: only required asks them to enroll.
  const plain = uniqueUsername('e2e')
  t.equal((await signinAs({ token: await gw.login(plain, req) })).status, 'enrollment_required')
  t.equal((await signinAs({ token: await gw.login(plain, ada) })).status, 'not_required')
  t.equal((await signinAs({ token: await gw.login(plain, off) })).status, 'not_required')
  t.equal((await signinAs({ token: await gw.login(plain, off) }, { purpose: 'step-up', action: 'delete-records' })).status, 'enrollment_required', 'a step-up needs a factor even under off')

  // A user with 2FA: no policy switches it off.
  const u = await totpUser(req)
  const as = async (clientId: string): Promise<TotpUser> => ({ ...u, clientId, token: await gw.login(u.username, clientId) })
  const onReq = await as(req)
  const onAda = await as(ada)
  const onOff = await as(off)
  const onShort = await as(short)
  const onNever = await as(never)
  for (const [name, who] of [['required', onReq], ['adaptive', onAda], ['off', onOff]] as const) {
    t.equal((await signinAs(who, { context: { ip: home } })).status, 'challenge', `${name}: no remembered device → challenge`)
  }
  // First sign-in counts as new: a remembered device on adaptive, for a user never verified anywhere, is asked.
  const newcomer = await totpUser(ada)
  const unverified = (await gw.app.rememberedDevices.issue(newcomer.username, { label: 'x', days: 30 })).token
  t.equal((await signinAs(newcomer, { rememberToken: unverified, context: { ip: home } })).status, 'challenge', 'adaptive: first sign-in')

  // Remembered (via the required app), then each mode with the device, at home and away.
  let rt = await rememberedSignin(onReq, home)
  const expectStatus = async (who: TotpUser, ip: string, status: string, msg: string) => {
    const res = await signinAs(who, { rememberToken: rt, context: { ip } })
    t.equal(res.status, status, msg)
    if (res.status === 'skipped') rt = res.rememberToken
  }
  await expectStatus(onReq, away, 'skipped', 'required: a remembered device skips, wherever it is')
  await expectStatus(onOff, away, 'skipped', 'off: a remembered device skips')
  await expectStatus(onAda, away, 'challenge', 'adaptive: changed network → challenge')
  await expectStatus(onAda, home, 'skipped', 'adaptive: known network, remembered, no failures → skipped')

  // rememberDays: the application's limit on the device's age; 0 = never skip, never remember.
  await expectStatus(onShort, home, 'skipped', 'a 7-day application: a new device skips')
  clock.advance(8 * DAY)
  await expectStatus(onShort, home, 'challenge', 'a 7-day application: an 8-day-old device is asked')
  await expectStatus(onReq, home, 'skipped', 'while a 30-day application still skips it')
  await expectStatus(onNever, home, 'challenge', 'rememberDays 0: never skipped')
  const noRemember = await verifyNext(onNever, (await signinAs(onNever, { context: { ip: home } })).transactionId, { rememberDevice: true })
  t.equal(noRemember.status, 'verified')
  t.equal(noRemember.rememberToken, undefined, 'rememberDays 0: nothing to remember')
  t.match(decodeJwt(noRemember.token), { aud: never })
})

t.test('a policy PUT through the admin API reaches the next sign-in, on this replica at once and on another by the KV watch', async (t) => {
  const other = await startGateway(t, { clock, infra: gw.infra })
  const clientId = uniqueUsername('watched')
  const admin = await hsToken(clock, gw.secret, { sub: uniqueUsername('ops'), azp: 'console', role: 'warden:admin' })
  const put = async (mode: 'off' | 'required'): Promise<void> => {
    const res = await send(gw.app, 'PUT', `/v1/admin/policies/${clientId}`, { token: admin, body: { mode } })
    t.equal(res.statusCode, 200, `PUT ${mode}`)
  }
  const plain = uniqueUsername('e2e')
  const statusOn = async (g: typeof gw): Promise<string> => {
    const res = await g.call('POST', '/v1/signin', { token: await g.login(plain, clientId), body: {} })
    if (res.statusCode !== 200) throw new Error(`POST /v1/signin: ${res.body}`)
    return res.json().status
  }

  await put('required')
  t.equal(await statusOn(gw), 'enrollment_required', 'the replica that wrote it: the next sign-in')
  await eventually(async () => await statusOn(other) === 'enrollment_required', { what: 'the other replica sees required' })
  await put('off')
  t.equal(await statusOn(gw), 'not_required')
  await eventually(async () => await statusOn(other) === 'not_required', { what: 'the other replica sees off' })
  t.match(await other.app.policies.get(clientId), { mode: 'off', isDefault: false })

  await other.app.applications.delete(clientId)
  t.match(await other.app.policies.get(clientId), { isDefault: true }, 'a removal is seen by the replica that made it at once')
  await eventually(async () => (await gw.app.policies.get(clientId)).isDefault, { what: 'and by the other one' })
})

t.test('step-up: action and auth_time in the token; no action is 400; expired transactions are 410 FLOW_EXPIRED', async (t) => {
  const app = uniqueUsername('app')
  const u = await totpUser(app)
  expectError(t, await gw.call('POST', '/v1/signin', { token: u.token, body: { purpose: 'step-up' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', '/v1/signin', { token: u.token, body: { action: 'change-bank-details' } }), 400, 'BAD_REQUEST')
  const start = await signinAs(u, { purpose: 'step-up', action: 'delete-records' })
  t.match((await gw.call('GET', `/v1/signin/${start.transactionId}`, { token: u.token })).json(), { purpose: 'step-up', action: 'delete-records', status: 'challenge' })
  const res = await verifyNext(u, start.transactionId)
  const { payload } = await jwtVerify(res.token, await jwks(), { issuer: 'warden', audience: app, algorithms: ['ES256'], currentDate: clock.now() })
  t.match(payload, { sub: u.username, action: 'delete-records', acr: 'aal2', amr: ['otp', 'mfa'], token_use: 'mfa' })
  t.equal(payload.auth_time, Math.floor(clock.now().getTime() / 1000), 'auth_time: when the factor was verified')

  const late = await signinAs(u)
  clock.advance(10 * 60_000)
  const id = late.transactionId as string
  expectError(t, await gw.call('GET', `/v1/signin/${id}`, { token: u.token }), 410, 'FLOW_EXPIRED')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token: u.token, body: { method: 'totp' } }), 410, 'FLOW_EXPIRED')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token: u.token, body: { method: 'totp', code: codeOf(u.secret) } }), 410, 'FLOW_EXPIRED')
  expectError(t, await gw.call('GET', `/v1/signin/${id}/push/pch_AAAAAAAAAAAAAAAAAAAAAA`, { token: u.token }), 410, 'FLOW_EXPIRED')
})

t.test('the gateway and factor-totp log no secrets, codes, URIs or tokens', async (t) => {
  checkLogs(t, gw.log.text() + totpLog.text())
})
