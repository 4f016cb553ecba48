// End to end: the gateway and the real factor-totp service (in this process), over real NATS and
// Redis, with one manual clock for both so codes are computed exactly as an authenticator app would;
// the other factor services run as the built placeholder processes (they answer NOT_ENROLLED).
// Remember-device, policies, step-up and expiry are driven here through the REST API.
import t, { type Test } from 'tap'
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose'
import { createStepUpVerifier } from '@warden/step-up'
import { manualClock, startInfra, startServiceProcess } from '@warden/testkit'
import type { Policy } from '../src/policy.js'
import { startGateway, startRealTotp, totpCode, uniqueUsername } from './fixtures/gateway.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)
const { log: totpLog } = await startRealTotp(t, infra, clock)
const gw = await startGateway(t, { clock, infra })
const placeholderEnv = { NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, LOG_LEVEL: 'warn' }
const [, sms] = await Promise.all(['factor-push', 'factor-sms', 'factor-webauthn', 'recovery'].map((name) => startServiceProcess(t, name, placeholderEnv)))
const DAY = 24 * 3600_000

/** What the authenticator app shows right now (or `offsetSteps` steps away). */
const codeOf = (secret: string, offsetSteps = 0): string => totpCode(clock, secret, offsetSteps)

/** A code that is not the current one, nor a neighbour's. */
function wrongCode (secret: string): string {
  const near = new Set([-1, 0, 1].map((d) => codeOf(secret, d)))
  for (let i = 0; ; i++) {
    const c = String((123456 + i * 7919) % 1_000_000).padStart(6, '0')
    if (!near.has(c)) return c
  }
}

const secretsSeen: string[] = []
const tokensSeen: string[] = []

async function enrollAndConfirm (token: string): Promise<string> {
  const enroll = await gw.call('POST', '/v1/me/totp', { token })
  if (enroll.statusCode !== 200) throw new Error(`enroll: ${enroll.body}`)
  const { enrollmentId, secret } = enroll.json() as { enrollmentId: string, secret: string }
  secretsSeen.push(secret)
  const res = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: codeOf(secret) } })
  if (res.json().status !== 'confirmed') throw new Error(`confirm: ${res.body}`)
  return secret
}

t.test('the whole TOTP flow: enroll, confirm, sign in, verify, replay, step-up, remove', async (t) => {
  const username = uniqueUsername('e2e')
  const token = await gw.login(username)
  tokensSeen.push(token)

  const before = await gw.call('GET', '/v1/me/factors', { token })
  t.match(before.json(), { twoFactor: 'none', factors: [{ factor: 'push', available: true }, { factor: 'webauthn' }, { factor: 'totp', available: true, enrolled: false }] })
  t.equal((await gw.call('POST', '/v1/signin', { token })).json().status, 'not_required')

  // Enroll: a secret, an otpauth URI naming the user, a QR code.
  const enroll = await gw.call('POST', '/v1/me/totp', { token })
  t.equal(enroll.statusCode, 200)
  const e = enroll.json() as { enrollmentId: string, secret: string, otpauthUri: string, qrSvg: string, expiresAt: string }
  secretsSeen.push(e.secret)
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
  tokensSeen.push(mfa)

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
  tokensSeen.push(token)
  const secret = await enrollAndConfirm(token)
  clock.advance(30_000)
  const id = (await gw.call('POST', '/v1/signin', { token })).json().transactionId as string
  const bad = wrongCode(secret)

  let locked: Awaited<ReturnType<typeof gw.call>> | undefined
  let lastLeft = Infinity
  for (let i = 0; i < 12 && locked === undefined; i++) {
    const res = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: bad } })
    if (res.statusCode === 429) { locked = res; break }
    t.equal(res.statusCode, 200)
    const left = res.json().attemptsLeft as number
    t.ok(left < lastLeft, `attemptsLeft goes down (${left})`)
    lastLeft = left
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
  tokensSeen.push(res.json().token)
})

// ---- sign-in statuses, remember-device, policies, step-up ---------------------------------------

interface TotpUser { username: string, clientId?: string, token: string, secret: string }

/** A user with a confirmed authenticator app (real factor-totp), signed in upstream for `clientId`. */
async function totpUser (clientId?: string): Promise<TotpUser> {
  const username = uniqueUsername('e2e')
  const token = await gw.login(username, clientId)
  tokensSeen.push(token)
  return { username, token, secret: await enrollAndConfirm(token), ...(clientId === undefined ? {} : { clientId }) }
}

/** A primary token for the user, fresh on the (moved) clock: demo tokens last an hour. */
async function tok (u: { username?: string, clientId?: string, token: string }): Promise<string> {
  if (u.username === undefined) return u.token
  const token = await gw.login(u.username, u.clientId)
  tokensSeen.push(token)
  return token
}

async function signinAs (u: { username?: string, clientId?: string, token: string }, body: unknown = {}): Promise<Record<string, any>> {
  const res = await gw.call('POST', '/v1/signin', { token: await tok(u), body })
  if (res.statusCode !== 200) throw new Error(`POST /v1/signin: ${res.body}`)
  const json = res.json()
  for (const k of ['token', 'rememberToken', 'enrollmentToken']) if (typeof json[k] === 'string') tokensSeen.push(json[k])
  return json
}

/** Answers a challenge with the app's next code (each 30-second step works once). */
async function verifyNext (u: TotpUser, transactionId: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
  clock.advance(30_000)
  const res = await gw.call('POST', `/v1/signin/${transactionId}/verify`, { token: await tok(u), body: { method: 'totp', code: codeOf(u.secret), ...extra } })
  if (res.statusCode !== 200) throw new Error(`verify: ${res.body}`)
  const json = res.json()
  for (const k of ['token', 'rememberToken']) if (typeof json[k] === 'string') tokensSeen.push(json[k])
  return json
}

/** Signs in through a challenge and asks to remember the device: the rememberToken. */
async function rememberedSignin (u: TotpUser, ip: string): Promise<string> {
  const start = await signinAs(u, { context: { ip, userAgent: 'Firefox on Linux' } })
  if (start.status !== 'challenge') throw new Error(`expected a challenge, got ${start.status}`)
  const res = await verifyNext(u, start.transactionId, { rememberDevice: true })
  if (typeof res.rememberToken !== 'string') throw new Error('no rememberToken')
  return res.rememberToken
}

const policy = (mode: Policy['mode'], rememberDays = 30): Policy => ({ mode, rememberDays, stepUpMaxAgeSec: 600 })

async function jwks (): Promise<ReturnType<typeof createLocalJWKSet>> {
  return createLocalJWKSet((await gw.call('GET', '/.well-known/jwks.json')).json() as { keys: JWK[] })
}

function expectError (t: Test, res: { statusCode: number, json: () => any, body: string }, status: number, code: string): void {
  t.equal(res.statusCode, status, `${status} ${code} (${res.body.slice(0, 120)})`)
  t.equal(res.json().error?.code, code)
}

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
  t.match(enroll, { status: 'enrollment_required', steps: ['totp'] })
  t.match(decodeJwt(enroll.enrollmentToken), { token_use: 'enrollment', acr: 'aal1', aud: bank })
  // The wizard: the enrollment token carries the user from the first factor to the next ones.
  const e = (await gw.call('POST', '/v1/me/totp', { token: mustEnroll, headers: { 'x-mfa-token': enroll.enrollmentToken } })).json()
  secretsSeen.push(e.secret)
  t.match((await gw.call('POST', '/v1/me/totp/confirm', { token: mustEnroll, body: { enrollmentId: e.enrollmentId, code: codeOf(e.secret) } })).json(), { status: 'confirmed' })
  const second = await gw.call('POST', '/v1/me/totp', { token: mustEnroll, headers: { 'x-mfa-token': enroll.enrollmentToken } })
  t.equal(second.statusCode, 200, 'with 2FA on, the enrollment token still opens the enrollment routes (the wizard goes on), for its 10 minutes')
  secretsSeen.push(second.json().secret)
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
  const text = gw.log.text() + totpLog.text()
  t.ok(secretsSeen.length >= 2)
  for (const s of secretsSeen) t.notOk(text.includes(s), 'no TOTP secret')
  t.notOk(text.includes('otpauth://'), 'no otpauth URI')
  for (const tok of tokensSeen) t.notOk(text.includes(tok.includes('.') ? tok.split('.')[2] as string : tok), 'no token')
  t.ok(tokensSeen.some((tok) => tok.startsWith('rd_')), 'remember-device tokens were checked too')
  t.notMatch(text, /rd_[A-Za-z0-9_-]{43}/, 'no remember-device token at all')
})
