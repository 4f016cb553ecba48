// The sign-in flow for every factor: the gateway over real NATS and Redis, with fake factor services
// on the bus that speak the real contracts (push, security key, SMS, emergency code, and TOTP), so
// each method, the default order for every combination of factors, "Try another way" and a factor
// going away mid-test can be driven from here. Plus the pure chooser (the guards: flows.test.ts).
import t from 'tap'
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose'
import { userReset, type FactorName } from '@warden/contracts'
import { manualClock } from '@warden/testkit'
import type { FactorStatus } from '../src/factor-client.js'
import { chooseDefault, METHOD_ORDER, offeredMethods, twoFactorState } from '../src/methods.js'
import { expectError, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { FAKE_CREDENTIAL, FAKE_NEW_RECOVERY_CODE, FAKE_RECOVERY_CODE, FAKE_SMS_CODE, startFakeFactors, startFakeTotp } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
const totp = await startFakeTotp(t, gw.nc)
const fakes = await startFakeFactors(t, gw.nc)

const ALL: readonly FactorName[] = ['push', 'webauthn', 'totp', 'sms', 'recovery']
const PHONE_1 = { id: 'phn_AAAAAAAAAAAAAAAAAAAAAA', label: '+46 •• ••• •• 12', verified: true }
const PHONE_2 = { id: 'phn_BBBBBBBBBBBBBBBBBBBBBB', label: '+47 ••• •• 345', verified: true }
const DEVICE = { id: 'dev_AAAAAAAAAAAAAAAAAAAAAA', label: 'Pixel 8', createdAt: '2026-01-02T00:00:00.000Z' }
const KEY = { id: FAKE_CREDENTIAL, label: 'YubiKey 5', createdAt: '2026-01-03T00:00:00.000Z' }

/** A user (demo login) with the given factors. */
async function userWith (factors: readonly FactorName[], opts: { clientId?: string, totpLockedUntil?: Date } = {}): Promise<{ username: string, token: string }> {
  const username = uniqueUsername('flow')
  for (const f of factors) {
    if (f === 'totp') totp.enroll(username)
    if (f === 'push') fakes.enroll(username, 'push', { items: [DEVICE] })
    if (f === 'webauthn') fakes.enroll(username, 'webauthn', { items: [KEY] })
    if (f === 'sms') fakes.enroll(username, 'sms', { items: [PHONE_1, PHONE_2] })
    if (f === 'recovery') fakes.enroll(username, 'recovery', { createdAt: '2026-01-04T00:00:00.000Z' })
  }
  if (opts.totpLockedUntil !== undefined) totp.lock(username, opts.totpLockedUntil)
  return { username, token: await gw.login(username, opts.clientId) }
}

async function startChallenge (token: string, body: unknown = {}): Promise<{ id: string, json: Record<string, unknown> }> {
  const res = await gw.call('POST', '/v1/signin', { token, body })
  if (res.statusCode !== 200 || res.json().status !== 'challenge') throw new Error(`no challenge: ${res.body}`)
  return { id: res.json().transactionId as string, json: res.json() }
}

async function jwks (): Promise<ReturnType<typeof createLocalJWKSet>> {
  return createLocalJWKSet((await gw.call('GET', '/.well-known/jwks.json')).json() as { keys: JWK[] })
}

const stored = async (id: string): Promise<Record<string, unknown>> => JSON.parse(await gw.redis.get(`gw:signin:${id}`) as string)

// ---- pure --------------------------------------------------------------------------------------

/** The seeds' rule, written independently of the implementation: strongest first, SMS and the emergency code only without a stronger factor. */
function expectedDefault (set: ReadonlySet<FactorName>, locked: ReadonlySet<FactorName> = new Set()): FactorName | undefined {
  const strong = (['push', 'webauthn', 'totp'] as const).filter((f) => set.has(f))
  const pool = strong.length > 0 ? strong : (['sms', 'recovery'] as const).filter((f) => set.has(f))
  return pool.find((f) => !locked.has(f))
}

/** Every subset of the five factors (32), as sets. */
const combos = Array.from({ length: 32 }, (_, mask) => new Set(ALL.filter((_f, i) => (mask & (1 << i)) !== 0)))

t.test('the default method: every combination of enrolled factors (pure)', async (t) => {
  const now = clock.now()
  const statusesOf = (set: ReadonlySet<FactorName>, locked: ReadonlySet<FactorName> = new Set()): FactorStatus[] =>
    // Shuffled input order: the chooser must not depend on it.
    [...ALL].reverse().map((f) => ({
      factor: f, available: true as const, enrolled: set.has(f), items: [],
      ...(locked.has(f) ? { lockedUntil: new Date(now.getTime() + 60_000).toISOString() } : {}),
    }))
  let checked = 0
  for (const set of combos) {
    t.equal(chooseDefault(statusesOf(set), now), expectedDefault(set), `{${[...set].join(', ')}}`)
    // A locked factor is never the default; the next candidate is, and never SMS while a stronger one is enrolled.
    for (const lockedOne of set) {
      const locked = new Set([lockedOne])
      t.equal(chooseDefault(statusesOf(set, locked), now), expectedDefault(set, locked), `{${[...set].join(', ')}} with ${lockedOne} locked`)
    }
    checked++
  }
  t.equal(checked, 32)
  // Spelled out, from the seeds.
  const d = (...f: FactorName[]) => chooseDefault(statusesOf(new Set(f)), now)
  t.equal(d('push', 'webauthn', 'totp', 'sms', 'recovery'), 'push')
  t.equal(d('webauthn', 'totp', 'sms'), 'webauthn')
  t.equal(d('totp', 'sms'), 'totp', 'SMS is never the default when a stronger factor exists')
  t.equal(d('sms', 'recovery'), 'sms')
  t.equal(d('recovery'), 'recovery')
  t.equal(d(), undefined)
  t.equal(chooseDefault(statusesOf(new Set(['totp', 'sms']), new Set(['totp'])), now), undefined, 'the only strong factor locked: no default, SMS stays in the list')
  t.equal(chooseDefault(statusesOf(new Set(['totp']), new Set(['totp'])), new Date(now.getTime() + 61_000)), 'totp', 'a lock in the past is no lock')
  // A factor that did not answer is not a candidate; it does not make SMS the default either when a strong one answered.
  const down: FactorStatus[] = [{ factor: 'push', available: false }, { factor: 'totp', available: true, enrolled: true, items: [] }, { factor: 'sms', available: true, enrolled: true, items: [] }]
  t.equal(chooseDefault(down, now), 'totp')
  t.same(offeredMethods(down).map((s) => s.factor), ['push', 'totp', 'sms'], 'offered: enrolled and unknown, in the seeds\' order')
  t.same(METHOD_ORDER, ['push', 'webauthn', 'totp', 'sms', 'recovery'])
  t.equal(twoFactorState(down), 'enrolled')
  t.equal(twoFactorState([{ factor: 'push', available: false }, { factor: 'totp', available: true, enrolled: false, items: [] }]), 'unknown')
})

// ---- through the gateway -----------------------------------------------------------------------

t.test('the default method for every combination of enrolled factors, through POST /v1/signin', async (t) => {
  for (const set of combos) {
    const { token } = await userWith([...set])
    const res = await gw.call('POST', '/v1/signin', { token })
    t.equal(res.statusCode, 200)
    const name = `{${[...set].join(', ')}}`
    if (set.size === 0) {
      t.equal(res.json().status, 'not_required', `${name}: no factor, adaptive default policy`)
      continue
    }
    const body = res.json()
    t.equal(body.status, 'challenge', name)
    t.equal(body.defaultMethod, expectedDefault(set), `${name} → ${expectedDefault(set)}`)
    t.same(body.methods.map((m: { method: string }) => m.method), ALL.filter((f) => set.has(f)), `${name}: every enrolled method, in order`)
  }
})

t.test('"Try another way": every method the user has, with what the UI needs', async (t) => {
  const lockedUntil = new Date(clock.now().getTime() + 15 * 60_000)
  const { username, token } = await userWith(ALL, { totpLockedUntil: lockedUntil })
  const start = await startChallenge(token)
  t.equal(start.json.defaultMethod, 'push')
  const res = await gw.call('GET', `/v1/signin/${start.id}`, { token })
  t.equal(res.statusCode, 200)
  const view = res.json()
  t.match(view, { transactionId: start.id, status: 'challenge', purpose: 'signin', defaultMethod: 'push' })
  t.same(view.methods, [
    { method: 'push', available: true, items: [DEVICE] },
    { method: 'webauthn', available: true, items: [KEY] },
    { method: 'totp', available: true, createdAt: '2026-01-01T00:00:00.000Z', lockedUntil: lockedUntil.toISOString(), items: [] },
    { method: 'sms', available: true, items: [PHONE_1, PHONE_2] },
    { method: 'recovery', available: true, createdAt: '2026-01-04T00:00:00.000Z', items: [] },
  ], 'push device by name, key, locked TOTP, masked phones with ids, emergency code')

  // A locked factor is not the default, and SMS is not either while a strong factor is usable.
  fakes.unenroll(username, 'push')
  fakes.unenroll(username, 'webauthn')
  const again = (await gw.call('GET', `/v1/signin/${start.id}`, { token })).json()
  t.equal(again.defaultMethod, undefined, 'TOTP locked and the only strong factor: no default')
  t.same(again.methods.map((m: { method: string }) => m.method), ['totp', 'sms', 'recovery'])
  totp.lock(username, undefined)
  t.equal((await gw.call('GET', `/v1/signin/${start.id}`, { token })).json().defaultMethod, 'totp', 'fresh lock state on every read')
})

t.test('push: challenge, long-poll, approval with token and remembered device; denial; stale challenge ids', async (t) => {
  const { username, token } = await userWith(['push', 'totp'], { clientId: 'shop' })
  const { id } = await startChallenge(token, { context: { ip: '198.51.100.23', userAgent: 'Firefox on Linux' } })

  const ch = await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'push', rememberDevice: true } })
  t.equal(ch.statusCode, 200)
  t.match(ch.json(), { challengeId: /^pch_/, expiresAt: String, numberToMatch: 42 })
  t.same(Object.keys(ch.json()).sort(), ['challengeId', 'expiresAt', 'numberToMatch'])
  const challengeId = ch.json().challengeId as string
  t.same(fakes.pushContext(challengeId), { appName: 'shop', ip: '198.51.100.23', userAgent: 'Firefox on Linux' }, 'the app shows the application, IP and browser')
  t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { activeChallenge: { method: 'push', challengeId } })

  const quick = await gw.call('GET', `/v1/signin/${id}/push/${challengeId}?waitSec=0`, { token })
  t.same(quick.json(), { state: 'pending' })
  t.same((await gw.call('GET', `/v1/signin/${id}/push/${challengeId}`, { token })).json(), { state: 'pending' }, 'waitSec defaults to 0')

  // The long-poll is answered when the user approves, not at the end of its wait.
  const started = Date.now()
  const polling = gw.call('GET', `/v1/signin/${id}/push/${challengeId}?waitSec=20`, { token })
  fakes.answerPush(challengeId, 'approved')
  const approved = await polling
  t.ok(Date.now() - started < 5_000, 'no hang')
  t.equal(approved.statusCode, 200)
  t.match(approved.json(), { state: 'approved', token: String, rememberToken: /^rd_/ })
  const { payload } = await jwtVerify(approved.json().token, await jwks(), { issuer: 'warden', audience: 'shop', algorithms: ['ES256'], currentDate: clock.now() })
  t.match(payload, { sub: username, amr: ['pop', 'mfa'], acr: 'aal2', token_use: 'mfa', auth_time: Math.floor(clock.now().getTime() / 1000) })
  t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { status: 'verified', methods: [] })
  expectError(t, await gw.call('GET', `/v1/signin/${id}/push/${challengeId}`, { token }), 409, 'CONFLICT')
  const devices = (await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices
  t.match(devices, [{ id: /^rdv_/, label: 'Firefox on Linux' }], 'remembered, labelled with the browser')

  // Denied: the user can try another way in the same transaction.
  const second = await startChallenge(token)
  const denied = (await gw.call('POST', `/v1/signin/${second.id}/challenge`, { token, body: { method: 'push' } })).json().challengeId as string
  fakes.answerPush(denied, 'denied')
  t.same((await gw.call('GET', `/v1/signin/${second.id}/push/${denied}?waitSec=5`, { token })).json(), { state: 'denied' })
  t.match(await gw.app.risk.assess(username, '198.51.100.23'), { recentFailures: true }, 'a denial counts as a failure')
  t.match(await stored(second.id), { state: 'challenge', attempts: 1 })
  const other = await gw.call('POST', `/v1/signin/${second.id}/verify`, { token, body: { method: 'totp', code: '000000' } })
  t.equal(other.json().status, 'verified', 'then another way works')
  t.equal(decodeJwt(other.json().token).amr?.toString(), 'otp,mfa')
  t.equal(other.json().rememberToken, undefined, 'not asked, not remembered')

  // A challenge id that is not the transaction's active push is 404; another user's transaction too.
  const third = await startChallenge(token)
  const first = (await gw.call('POST', `/v1/signin/${third.id}/challenge`, { token, body: { method: 'push' } })).json().challengeId as string
  const latest = (await gw.call('POST', `/v1/signin/${third.id}/challenge`, { token, body: { method: 'push' } })).json().challengeId as string
  expectError(t, await gw.call('GET', `/v1/signin/${third.id}/push/${first}`, { token }), 404, 'NOT_FOUND')
  const stranger = await userWith(['push'])
  expectError(t, await gw.call('GET', `/v1/signin/${third.id}/push/${latest}`, { token: stranger.token }), 404, 'NOT_FOUND')
  await gw.call('POST', `/v1/signin/${third.id}/challenge`, { token, body: { method: 'totp' } })
  expectError(t, await gw.call('GET', `/v1/signin/${third.id}/push/${latest}`, { token }), 404, 'NOT_FOUND', )
  const statusCalls = fakes.callsOf(username, 'push', 'status')
  clock.advance(600_000)
  expectError(t, await gw.call('POST', `/v1/signin/${third.id}/challenge`, { token, body: { method: 'push' } }), 410, 'FLOW_EXPIRED')
  t.equal(fakes.callsOf(username, 'push', 'status'), statusCalls)
})

t.test('a step-up push never remembers the device', async (t) => {
  const { token } = await userWith(['push'])
  const { id } = await startChallenge(token, { purpose: 'step-up', action: 'change-bank-details' })
  const challengeId = (await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'push', rememberDevice: true } })).json().challengeId as string
  fakes.answerPush(challengeId, 'approved')
  const res = (await gw.call('GET', `/v1/signin/${id}/push/${challengeId}`, { token })).json()
  t.equal(res.state, 'approved')
  t.equal(res.rememberToken, undefined)
  t.match(decodeJwt(res.token), { action: 'change-bank-details', amr: ['pop', 'mfa'], auth_time: Number })
})

t.test('SMS: challenge per phone (default the first), wrong code, right code → amr sms', async (t) => {
  const { username, token } = await userWith(['sms'])
  const { id, json } = await startChallenge(token)
  t.equal(json.defaultMethod, 'sms')
  t.same(await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'sms', code: FAKE_SMS_CODE } }).then((r) => r.json()),
    { status: 'rejected', reason: 'no_challenge' }, 'a code before any SMS was sent')

  const first = await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms' } })
  t.same(first.json(), { reference: '4821', maskedPhone: PHONE_1.label, expiresAt: first.json().expiresAt })
  const second = await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms', phoneId: PHONE_2.id } })
  t.equal(second.json().maskedPhone, PHONE_2.label)
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms', phoneId: 'phn_CCCCCCCCCCCCCCCCCCCCCC' } }), 404, 'NOT_FOUND')
  t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { activeChallenge: { method: 'sms', expiresAt: String } })

  t.same((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'sms', code: '654321' } })).json(),
    { status: 'rejected', reason: 'invalid_code', attemptsLeft: 4 })
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'sms', code: FAKE_SMS_CODE } })
  t.equal(ok.json().status, 'verified')
  t.match(decodeJwt(ok.json().token), { sub: username, amr: ['sms', 'mfa'], acr: 'aal2' })

  // A user without phones: the factor says so.
  const none = await userWith(['totp'])
  const txn = await startChallenge(none.token)
  expectError(t, await gw.call('POST', `/v1/signin/${txn.id}/challenge`, { token: none.token, body: { method: 'sms' } }), 409, 'NOT_ENROLLED')
  expectError(t, await gw.call('POST', `/v1/signin/${txn.id}/challenge`, { token: none.token, body: { method: 'sms', phoneId: PHONE_1.id } }), 409, 'NOT_ENROLLED')
})

t.test('security key: options, then the assertion → amr hwk', async (t) => {
  const { token } = await userWith(['webauthn', 'sms'])
  const { id, json } = await startChallenge(token)
  t.equal(json.defaultMethod, 'webauthn')
  const assertion = { id: FAKE_CREDENTIAL, rawId: FAKE_CREDENTIAL, type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } }
  t.same((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'webauthn', response: assertion } })).json(),
    { status: 'rejected', reason: 'no_challenge' })
  const options = await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'webauthn' } })
  t.match(options.json(), { options: { challenge: String, rpId: 'localhost', allowCredentials: [{ id: FAKE_CREDENTIAL }] } })
  t.same((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'webauthn', response: { ...assertion, id: 'other' } } })).json(),
    { status: 'rejected', reason: 'unknown_credential' })
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'webauthn', response: assertion, rememberDevice: true } })
  t.match(ok.json(), { status: 'verified', token: String, rememberToken: /^rd_/ })
  t.match(decodeJwt(ok.json().token), { amr: ['hwk', 'mfa'], acr: 'aal2' })
})

t.test('emergency code, temporary loss: signed in once, with a new code', async (t) => {
  const { token } = await userWith(['totp', 'recovery'])
  const { id } = await startChallenge(token)
  t.same((await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'recovery' } })).json(), {})
  t.same((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'recovery', code: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ', recoveryMode: 'temporary' } })).json(),
    { status: 'rejected', reason: 'invalid_code', attemptsLeft: 9 })
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'recovery', code: FAKE_RECOVERY_CODE.replaceAll('-', ''), recoveryMode: 'temporary' } })
  t.match(ok.json(), { status: 'verified', token: String, newRecoveryCode: FAKE_NEW_RECOVERY_CODE })
  t.match(decodeJwt(ok.json().token), { amr: ['otp', 'mfa'], acr: 'aal2' })
  t.notOk(gw.log.text().includes(FAKE_NEW_RECOVERY_CODE), 'the new code is not logged')
})

t.test('emergency code, permanent loss: reset, user.reset published, an enrollment token for /v1/me enrollment only', async (t) => {
  const { username, token } = await userWith(['totp', 'recovery'], { clientId: 'shop' })
  // A remembered device from an earlier sign-in goes with the reset.
  const before = await startChallenge(token)
  const remembered = (await gw.call('POST', `/v1/signin/${before.id}/verify`, { token, body: { method: 'totp', code: '000000', rememberDevice: true } })).json().rememberToken as string
  t.match(remembered, /^rd_/)

  const events: Array<{ userId: string, reason: string }> = []
  const sub = gw.nc.subscribe(userReset.subject, { callback: (_err, msg) => { events.push(msg.json()) } })
  t.teardown(() => { sub.unsubscribe() })
  await gw.nc.flush()

  const { id } = await startChallenge(token)
  const res = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'recovery', code: FAKE_RECOVERY_CODE, recoveryMode: 'permanent', rememberDevice: true } })
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()).sort(), ['enrollmentToken', 'status'])
  t.equal(res.json().status, 'reset')
  const enrollment = res.json().enrollmentToken as string
  const { payload } = await jwtVerify(enrollment, await jwks(), { issuer: 'warden', audience: 'shop', algorithms: ['ES256'], currentDate: clock.now() })
  t.match(payload, { sub: username, token_use: 'enrollment', acr: 'aal1' })
  t.equal((payload.exp as number) - (payload.iat as number), 600)
  t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { status: 'reset', methods: [] })
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } }), 409, 'CONFLICT')

  await gw.nc.flush()
  for (let i = 0; i < 50 && !events.some((e) => e.userId === username); i++) await new Promise((resolve) => setImmediate(resolve))
  t.match(events.filter((e) => e.userId === username), [{ userId: username, reason: 'recovery' }], 'user.reset published')
  t.same((await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices, [], 'remembered devices revoked')
  t.equal((await gw.call('POST', '/v1/signin', { token, body: { rememberToken: remembered } })).json().status, 'challenge', 'and no longer skip')

  // Until the factor services have deleted the data (this fake TOTP never does), the user still
  // "has 2FA": the enrollment token is what lets them add a factor. Nothing else.
  const enroll = await gw.call('POST', '/v1/me/totp', { token, headers: { 'x-mfa-token': enrollment } })
  t.equal(enroll.statusCode, 200, 'enrollment routes take it')
  const confirm = await gw.call('POST', '/v1/me/totp/confirm', { token, headers: { 'x-mfa-token': enrollment }, body: { enrollmentId: enroll.json().enrollmentId, code: '000000' } })
  t.match(confirm.json(), { status: 'confirmed' })
  expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': enrollment } }), 403, 'STEP_UP_REQUIRED')
  expectError(t, await gw.call('POST', '/v1/me/disable', { token, headers: { 'x-mfa-token': enrollment } }), 403, 'STEP_UP_REQUIRED')
  expectError(t, await gw.call('GET', '/v1/me/factors', { token: enrollment }), 401, 'UNAUTHENTICATED')
  expectError(t, await gw.call('POST', '/v1/signin', { token: enrollment }), 401, 'UNAUTHENTICATED')
  t.ok(await gw.app.tokens.verifyEnrollment(enrollment))
  t.equal(await gw.app.tokens.verifyMfa(enrollment), undefined, 'not an MFA token')
  const otherApp = await gw.login(username, 'other-app')
  expectError(t, await gw.call('POST', '/v1/me/totp', { token: otherApp, headers: { 'x-mfa-token': enrollment } }), 403, 'STEP_UP_REQUIRED')
  clock.advance(601_000)
  expectError(t, await gw.call('POST', '/v1/me/totp', { token, headers: { 'x-mfa-token': enrollment } }), 403, 'STEP_UP_REQUIRED')
})

t.test('placeholders and the rest: a method the user does not have is 409 NOT_ENROLLED', async (t) => {
  const { token } = await userWith(['totp'])
  const { id } = await startChallenge(token)
  for (const body of [{ method: 'push' }, { method: 'webauthn' }, { method: 'sms', phoneId: PHONE_1.id }]) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body }), 409, 'NOT_ENROLLED')
  }
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'sms', code: FAKE_SMS_CODE } }), 409, 'NOT_ENROLLED')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'webauthn', response: { id: FAKE_CREDENTIAL } } }), 409, 'NOT_ENROLLED')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'recovery', code: FAKE_RECOVERY_CODE, recoveryMode: 'temporary' } }), 409, 'NOT_ENROLLED')
  t.match(await stored(id), { state: 'challenge', attempts: 0 }, 'still open')
  t.equal((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })).json().status, 'verified')
})

t.test('malformed input on the new routes is 400 BAD_REQUEST and changes nothing', async (t) => {
  const { username, token } = await userWith(['push', 'sms', 'totp'])
  const { id } = await startChallenge(token)
  const challengeId = (await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'push' } })).json().challengeId as string
  const before = await stored(id)
  const callsBefore = fakes.calls.length + totp.calls.length

  const challengeBodies: unknown[] = [
    {}, { method: 'PUSH' }, { method: 'email' }, { method: 'push', deviceId: 'bad id' }, { method: 'push', deviceId: 7 },
    { method: 'push', rememberDevice: 'yes' }, { method: 'push', phoneId: PHONE_1.id }, { method: 'sms', phoneId: '' },
    { method: 'sms', phoneId: 'x'.repeat(300) }, { method: 'sms', deviceId: DEVICE.id }, { method: 'sms', rememberDevice: true },
    { method: 'totp', code: '000000' }, { method: 'webauthn', extra: 1 }, { method: 'recovery', recoveryMode: 'permanent' }, [], 'push', null, 42,
  ]
  for (const body of challengeBodies) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: '{"method":' }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token }), 400, 'BAD_REQUEST')

  const verifyBodies: unknown[] = [
    { method: 'push' }, { method: 'push', code: '000000' }, { method: 'sms' }, { method: 'sms', code: 123456 }, { method: 'sms', code: '12345' },
    { method: 'totp', code: '000000', rememberDevice: 'true' }, { method: 'totp', code: '000000', recoveryMode: 'temporary' },
    { method: 'webauthn' }, { method: 'webauthn', response: 'assertion' }, { method: 'webauthn', response: [] }, { method: 'webauthn', code: '000000' },
    { method: 'webauthn', response: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])) },
    { method: 'recovery', code: FAKE_RECOVERY_CODE }, { method: 'recovery', code: FAKE_RECOVERY_CODE, recoveryMode: 'forever' },
    { method: 'recovery', code: 'abcd-efgh-ijkl-mn0p', recoveryMode: 'temporary' }, { method: 'recovery', code: 'ABCD-EFGH-IJKL', recoveryMode: 'temporary' },
    { method: 'recovery', code: 'ABCD-EFGH-IJKL-MNO1', recoveryMode: 'temporary' }, { method: 'recovery', recoveryMode: 'temporary' },
  ]
  for (const body of verifyBodies) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }

  for (const q of ['waitSec=26', 'waitSec=-1', 'waitSec=abc', 'waitSec=1.5', 'other=1']) {
    expectError(t, await gw.call('GET', `/v1/signin/${id}/push/${challengeId}?${q}`, { token }), 400, 'BAD_REQUEST')
  }
  for (const bad of ['pch_short', 'PCH_AAAAAAAAAAAAAAAAAAAAAA', 'pch_AAAAAAAAAAAAAAAA!AAAAA', 'x'.repeat(150)]) {
    expectError(t, await gw.call('GET', `/v1/signin/${id}/push/${bad}`, { token }), 400, 'BAD_REQUEST')
  }
  for (const bad of ['txn_short', `txn_${'A'.repeat(44)}`]) {
    expectError(t, await gw.call('POST', `/v1/signin/${bad}/challenge`, { token, body: { method: 'totp' } }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('GET', `/v1/signin/${bad}/push/${challengeId}`, { token }), 400, 'BAD_REQUEST')
  }
  // Unauthenticated callers learn nothing about the schemas.
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { body: { method: 'nope' } }), 401, 'UNAUTHENTICATED')
  expectError(t, await gw.call('GET', `/v1/signin/${id}/push/${challengeId}?waitSec=99`), 401, 'UNAUTHENTICATED')

  t.same(await stored(id), before, 'the transaction is untouched')
  t.equal(fakes.calls.length + totp.calls.length, callsBefore, 'no factor was called')
  t.equal(fakes.callsOf(username, 'push', 'status'), 0)
})

t.test('the logs carry no token, code or assertion', async (t) => {
  const text = gw.log.text()
  t.ok(text.includes('second factor verified'), 'there are logs')
  t.notMatch(text, /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./, 'no JWT')
  t.notMatch(text, /rd_[A-Za-z0-9_-]{43}/, 'no remember-device token')
  for (const secret of [FAKE_RECOVERY_CODE, FAKE_RECOVERY_CODE.replaceAll('-', ''), FAKE_NEW_RECOVERY_CODE, 'clientDataJSON']) {
    t.notOk(text.includes(secret), `no ${secret}`)
  }
  // Six digits can occur in a duration or an id by chance: a code would be a JSON string.
  t.notOk(text.includes(`"${FAKE_SMS_CODE}"`), 'no SMS code')
})

// Last: it stops a fake factor service for good.
t.test('a factor service stopped mid-test: marked unavailable within 1 s, the others keep working', async (t) => {
  const { token } = await userWith(['push', 'totp', 'sms'])
  const { id, json } = await startChallenge(token)
  t.equal(json.defaultMethod, 'push')

  await fakes.stop('push')
  const started = Date.now()
  const view = await gw.call('GET', `/v1/signin/${id}`, { token })
  const elapsed = Date.now() - started
  t.ok(elapsed < 1_000, `answered in ${elapsed} ms`)
  t.equal(view.statusCode, 200)
  t.same(view.json().methods[0], { method: 'push', available: false, items: [] })
  t.equal(view.json().defaultMethod, 'totp', 'the next strong factor, not SMS')

  const t0 = Date.now()
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'push' } }), 503, 'UNAVAILABLE')
  t.ok(Date.now() - t0 < 1_000, 'no hang on the stopped factor')
  t.equal((await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms' } })).statusCode, 200, 'SMS still works')
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
  t.equal(ok.json().status, 'verified', 'TOTP still works')

  // New sign-ins: the user still has TOTP, so they are asked; push is listed as unavailable.
  const again = await startChallenge(token)
  t.match(again.json, { defaultMethod: 'totp', methods: [{ method: 'push', available: false }, { method: 'totp', available: true }, { method: 'sms', available: true }] })
})
