// End to end: the gateway and the real factor-totp service (in this process), over real NATS and
// Redis, with one manual clock for both so codes are computed exactly as an authenticator app would.
import t from 'tap'
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import { generateSync } from 'otplib'
import { loadTotpConfig, startTotpService } from '@warden/factor-totp'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock, startInfra } from '@warden/testkit'
import { startGateway, startPlaceholders, uniqueUsername } from './fixtures/gateway.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)
const totpLog = captureLog()
const totp = await startTotpService(loadTotpConfig({
  NATS_URL: infra.nats.url,
  REDIS_URL: infra.redis.url,
  SECRET_KEYS: generateKeyRingSpec(),
  LOG_LEVEL: 'info',
  OPS_HOST: '127.0.0.1',
  OPS_PORT: '0',
  TOTP_ISSUER: 'Warden Test',
}), { clock, logDestination: totpLog.stream })
t.teardown(() => totp.stop())
const gw = await startGateway(t, { clock, infra })
await startPlaceholders(t, gw.nc)

/** What the authenticator app shows right now (or `offsetSteps` steps away). */
const codeOf = (secret: string, offsetSteps = 0): string =>
  generateSync({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + offsetSteps * 30 })

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

t.test('neither service logs secrets, codes, URIs or tokens', async (t) => {
  const text = gw.log.text() + totpLog.text()
  t.ok(secretsSeen.length >= 2)
  for (const s of secretsSeen) t.notOk(text.includes(s), 'no TOTP secret')
  t.notOk(text.includes('otpauth://'), 'no otpauth URI')
  for (const tok of tokensSeen) t.notOk(text.includes(tok.split('.')[2] as string), 'no token')
})
