// End to end: the gateway and the real factor-sms (in this process, one manual clock for both),
// over real NATS and Redis, with the fake Vonage behind the official SDK. The codes are read
// from GET /v1/demo/outbox, as a person in demo mode would. factor-totp is the bus fake (code
// 000000), for a user with a second method; the other factors are placeholders.
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock, startFakeVonage } from '@warden/testkit'
// The built service (npm test builds the workspace first); not a dependency of the gateway's package.
import { loadSmsConfig, startSmsService } from '../../factor-sms/dist/app.js'
import { decodeJwt } from 'jose'
import { randomBytes, randomInt } from 'node:crypto'
import t from 'tap'
import { expectCleanLogs, expectError, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const fake = await startFakeVonage()
t.teardown(() => fake.close())
const gw = await startGateway(t, { clock, env: { DEMO_OUTBOX_URL: fake.url } })
const smsLog = captureLog()
const sms = await startSmsService(loadSmsConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'info',
  SECRET_KEYS: generateKeyRingSpec('k1'), SMS_HMAC_KEY: randomBytes(32).toString('base64'),
  VONAGE_API_KEY: fake.apiKey, VONAGE_API_SECRET: fake.apiSecret, VONAGE_REST_HOST: fake.url, SMS_ORIGIN_HOST: 'localhost',
  // A user here gets more SMS than a day's budget allows: the budgets have their own tests
  // (factor-sms: service.test.ts and adapters.test.ts, with moved time).
  SMS_ACCOUNT_MAX_PER_DAY: '1000', SMS_PHONE_MAX_PER_HOUR: '1000',
}), { clock, logDestination: smsLog.stream, sleep: async (ms) => { clock.advance(ms) } })
t.teardown(() => sms.stop())
await startFakeTotp(t, gw.nc)
await startPlaceholders(t, gw.nc, ['push', 'webauthn', 'recovery'])

/** Typed codes and full numbers, none of which may be logged. */
const secrets: string[] = []
const newNumber = (): string => {
  const n = `+479${String(randomInt(0, 10_000_000)).padStart(7, '0')}`
  secrets.push(n.slice(1))
  return n
}

interface OutboxMessage { channel: string, to: string, text: string, sentAt: string }
async function outbox (): Promise<OutboxMessage[]> {
  const res = await gw.call('GET', '/v1/demo/outbox')
  t.equal(res.statusCode, 200)
  return (res.json() as { messages: OutboxMessage[] }).messages
}
/** The newest SMS to `e164` and its code, from the demo inbox. */
async function lastSms (e164: string): Promise<{ text: string, code: string }> {
  const m = (await outbox()).find((x) => x.to === e164)
  const code = /#(\d{6})$/.exec(m?.text ?? '')?.[1]
  if (m === undefined || code === undefined) throw new Error(`no SMS to ${e164.slice(0, 3)}…`)
  secrets.push(code)
  return { text: m.text, code }
}
/** A wrong code; `n` makes each one different (the gateway answers a repeated answer from its record). */
const wrong = (code: string, n = 1): string => String((Number(code) + n) % 1_000_000).padStart(6, '0')

async function login (): Promise<string> {
  const token = await gw.login(uniqueUsername('sms'))
  gw.issued.push(token)
  return token
}
/** Adds and verifies a phone; `mfa` once the user has 2FA. */
async function addPhone (token: string, mfa?: string): Promise<{ phoneId: string, e164: string, maskedPhone: string }> {
  const e164 = newNumber()
  const headers = mfa === undefined ? {} : { 'x-mfa-token': mfa }
  const added = await gw.call('POST', '/v1/me/phones', { token, headers, body: { number: e164 } })
  if (added.statusCode !== 200) throw new Error(`add: ${added.body}`)
  const { phoneId, maskedPhone } = added.json() as { phoneId: string, maskedPhone: string }
  const verified = await gw.call('POST', `/v1/me/phones/${phoneId}/verify`, { token, headers, body: { code: (await lastSms(e164)).code } })
  if (verified.json().status !== 'verified') throw new Error(`verify: ${verified.body}`)
  clock.advance(31_000)
  return { phoneId, e164, maskedPhone }
}
/** Signs in with SMS to `phoneId`: the MFA token. */
async function signInWithSms (token: string, phone: { phoneId: string, e164: string }): Promise<string> {
  const id = (await gw.call('POST', '/v1/signin', { token, body: {} })).json().transactionId as string
  await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms', phoneId: phone.phoneId } })
  const res = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'sms', code: (await lastSms(phone.e164)).code } })
  if (res.json().status !== 'verified') throw new Error(`sign-in: ${res.body}`)
  clock.advance(31_000)
  const mfa = res.json().token as string
  gw.issued.push(mfa)
  return mfa
}

t.test('a phone: added with a code and a reference, verified, then a sign-in by SMS', async (t) => {
  const token = await login()
  const e164 = newNumber()
  const added = await gw.call('POST', '/v1/me/phones', { token, body: { number: e164.replace(/^\+47/, '+47 ') } })
  t.equal(added.statusCode, 200, added.body)
  const a = added.json() as { phoneId: string, reference: string, maskedPhone: string, expiresAt: string }
  t.match(a, { phoneId: /^phn_/, reference: /^\d{4}$/, maskedPhone: new RegExp(`^\\+47 •• •• •• ${e164.slice(-2)}$`) })
  t.equal(Date.parse(a.expiresAt) - clock.now().getTime(), 300_000, 'the code lives 5 minutes')

  const first = await lastSms(e164)
  t.ok(first.text.includes(`Reference: ${a.reference}.`), 'the SMS names the reference the API returned')
  t.ok(first.text.endsWith(`\n\n@localhost #${first.code}`), 'and ends with the origin-bound line')
  const listed = (await outbox())[0]
  t.match(listed, { channel: 'sms', to: e164, sentAt: /^\d{4}-\d\d-\d\dT/ }, 'the demo inbox, newest first')

  // Unverified: listed in the settings, never offered at sign-in.
  t.match((await gw.call('GET', '/v1/me/factors', { token })).json().factors.find((f: { factor: string }) => f.factor === 'sms'),
    { enrolled: false, items: [{ id: a.phoneId, label: a.maskedPhone, verified: false }] })
  t.equal((await gw.call('POST', '/v1/signin', { token, body: {} })).json().status, 'not_required', 'nothing usable yet')

  const rejected = await gw.call('POST', `/v1/me/phones/${a.phoneId}/verify`, { token, body: { code: wrong(first.code) } })
  t.same(rejected.json(), { status: 'rejected', reason: 'invalid_code', attemptsLeft: 4 })
  const verified = await gw.call('POST', `/v1/me/phones/${a.phoneId}/verify`, { token, body: { code: first.code } })
  t.match(verified.json(), { status: 'verified', phoneId: a.phoneId, maskedPhone: a.maskedPhone })
  clock.advance(31_000)

  // Sign in: SMS is the only method, so the default; the methods list shows the phone masked.
  const start = await gw.call('POST', '/v1/signin', { token, body: {} })
  t.match(start.json(), { status: 'challenge', defaultMethod: 'sms', methods: [{ method: 'sms', available: true, items: [{ id: a.phoneId, label: a.maskedPhone, verified: true }] }] })
  const id = start.json().transactionId as string
  const sent = await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms' } })
  t.match(sent.json(), { reference: /^\d{4}$/, maskedPhone: a.maskedPhone })
  const sms1 = await lastSms(e164)
  t.ok(sms1.text.includes(`Reference: ${sent.json().reference as string}.`))
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'sms', code: sms1.code } })
  t.equal(ok.json().status, 'verified')
  gw.issued.push(ok.json().token as string)
  t.match(decodeJwt(ok.json().token as string), { amr: ['sms', 'mfa'] })
})

t.test('up to three phones, each added with step-up; each unusable kind of number has its own code', async (t) => {
  const token = await login()
  const first = await addPhone(token)
  expectError(t, await gw.call('POST', '/v1/me/phones', { token, body: { number: newNumber() } }), 403, 'STEP_UP_REQUIRED')
  const mfa = await signInWithSms(token, first)
  await addPhone(token, mfa)
  await addPhone(token, mfa)
  const headers = { 'x-mfa-token': mfa }
  expectError(t, await gw.call('POST', '/v1/me/phones', { token, headers, body: { number: newNumber() } }), 409, 'LIMIT_REACHED')
  expectError(t, await gw.call('POST', '/v1/me/phones', { token, headers, body: { number: first.e164 } }), 409, 'ALREADY_ENROLLED')
  const refusals: Array<[string, string]> = [
    ['912 34 567', 'PHONE_INVALID'], ['+47 820 12 345', 'PHONE_PREMIUM_RATE'], ['+41 840 123 456', 'PHONE_SHARED_COST'],
    ['+44 800 123 4567', 'PHONE_TOLL_FREE'], ['+47 850 12 345', 'PHONE_VOIP'], ['+47 22 12 34 56', 'PHONE_NOT_MOBILE'],
    ['+86 131 2345 6789', 'PHONE_COUNTRY_NOT_ALLOWED'],
  ]
  for (const [number, code] of refusals) expectError(t, await gw.call('POST', '/v1/me/phones', { token, headers, body: { number } }), 422, code)
  for (const body of [{}, { number: '' }, { number: 4791234567 }, { number: '+4791234567', extra: 1 }, { number: '+'.padEnd(60, '4') }]) {
    expectError(t, await gw.call('POST', '/v1/me/phones', { token, headers, body }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', '/v1/me/phones/not-an-id/verify', { token, headers, body: { code: '123456' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', `/v1/me/phones/${first.phoneId}/verify`, { token, headers, body: { code: '12345' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', '/v1/me/phones', { body: { number: newNumber() } }), 401, 'UNAUTHENTICATED')

  // The methods list offers every verified phone, masked.
  const start = (await gw.call('POST', '/v1/signin', { token, body: {} })).json()
  t.equal(start.methods.find((m: { method: string }) => m.method === 'sms').items.length, 3)
})

t.test('codes: bound to their transaction, burnt by 5 wrong tries, resent by the rules, killed with their phone', async (t) => {
  const token = await login()
  const phone = await addPhone(token)
  const other = await addPhone(token, await signInWithSms(token, phone))
  const txn = async (): Promise<string> => (await gw.call('POST', '/v1/signin', { token, body: {} })).json().transactionId as string
  const challenge = async (id: string, phoneId = phone.phoneId) => gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms', phoneId } })
  const verify = async (id: string, code: string) => (await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'sms', code } })).json()

  // Bound to its transaction.
  const a = await txn()
  const b = await txn()
  const c0 = await txn()
  await challenge(a)
  const codeA = (await lastSms(phone.e164)).code
  t.match(await verify(c0, codeA), { status: 'rejected', reason: 'no_challenge' }, 'no code was sent for that transaction')
  clock.advance(31_000)
  const sentB = await challenge(b)
  t.equal(sentB.statusCode, 200, sentB.body)
  const codeB = (await lastSms(phone.e164)).code
  if (codeA !== codeB) t.match(await verify(b, codeA), { status: 'rejected', reason: 'invalid_code' }, 'a\'s code does not open b')
  t.match(await verify(a, codeA), { status: 'verified' })

  // Five wrong tries burn the code.
  clock.advance(31_000)
  const c = await txn()
  await challenge(c)
  const codeC = (await lastSms(phone.e164)).code
  for (let i = 0; i < 5; i++) {
    t.match(await verify(c, wrong(codeC, i + 1)), { status: 'rejected', reason: 'invalid_code', attemptsLeft: 4 - i })
    clock.advance(60_000) // past the attempt gate's growing waits
  }
  t.match(await verify(c, codeC), { status: 'rejected', reason: 'expired' }, 'even the right code')

  // Resend: 30 s apart, the old code void, at most 3 sends.
  const d = await txn()
  const first = (await challenge(d)).json()
  const code1 = (await lastSms(phone.e164)).code
  const early = await challenge(d)
  expectError(t, early, 429, 'RATE_LIMITED')
  t.equal(early.headers['retry-after'], '30')
  clock.advance(30_000)
  t.equal((await challenge(d)).json().reference, first.reference, 'a resend keeps the reference on the screen')
  const code2 = (await lastSms(phone.e164)).code
  clock.advance(30_000)
  t.equal((await challenge(d)).statusCode, 200)
  clock.advance(30_000)
  expectError(t, await challenge(d), 429, 'RATE_LIMITED')
  if (code1 !== code2) t.match(await verify(d, code1), { status: 'rejected', reason: 'invalid_code' }, 'a resend voids the old code')

  // Removing the phone kills its live challenge at once.
  clock.advance(60_000)
  const e = await txn()
  await challenge(e, other.phoneId)
  const codeE = (await lastSms(other.e164)).code
  const mfa = await signInWithSms(token, phone)
  t.same((await gw.call('DELETE', `/v1/me/phones/${other.phoneId}`, { token, headers: { 'x-mfa-token': mfa } })).json(), { removed: true })
  t.match(await verify(e, codeE), { status: 'rejected', reason: 'no_challenge' })
  expectError(t, await gw.call('DELETE', `/v1/me/phones/${phone.phoneId}`, { token }), 403, 'STEP_UP_REQUIRED')
})

t.test('provider failures: 8 and 9 answer 503 PROVIDER_UNAVAILABLE, and the other methods stay offered', async (t) => {
  const token = await login()
  const phone = await addPhone(token)
  const mfa = await signInWithSms(token, phone)
  // A second method: the authenticator app (the bus fake accepts 000000).
  const e = (await gw.call('POST', '/v1/me/totp', { token, headers: { 'x-mfa-token': mfa } })).json()
  t.equal((await gw.call('POST', '/v1/me/totp/confirm', { token, headers: { 'x-mfa-token': mfa }, body: { enrollmentId: e.enrollmentId, code: '000000' } })).json().status, 'confirmed')
  for (const status of ['8', '9']) {
    const id = (await gw.call('POST', '/v1/signin', { token, body: {} })).json().transactionId as string
    fake.answerNext(status)
    const before = fake.messages().length
    expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms', phoneId: phone.phoneId } }), 503, 'PROVIDER_UNAVAILABLE')
    t.equal(fake.messages().length, before + 1, `status ${status} is not retried`)
    const view = (await gw.call('GET', `/v1/signin/${id}`, { token })).json()
    t.match(view.methods.map((m: { method: string, available: boolean }) => [m.method, m.available]), [['totp', true], ['sms', true]], 'every method is still offered')
    t.equal((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })).json().status, 'verified')
    clock.advance(31_000)
  }
  // 1 and 5 are retried (twice at most), inside the code's life.
  const id = (await gw.call('POST', '/v1/signin', { token, body: {} })).json().transactionId as string
  fake.answerNext('1', '5')
  t.equal((await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'sms', phoneId: phone.phoneId } })).statusCode, 200)
  t.same(fake.messages().slice(-3).map((m) => m.status), ['1', '5', '0'])
})

t.test('the demo inbox exists only in demo mode', async (t) => {
  const prod = await startGateway(t, { infra: gw.infra, env: { DEMO_MODE: 'false' } })
  expectError(t, await prod.call('GET', '/v1/demo/outbox'), 404, 'NOT_FOUND')
  const messages = await outbox()
  t.ok(messages.length > 0 && messages.length <= 50, 'at most 50')
  t.ok(messages.every((m, i) => i === 0 || (messages[i - 1] as OutboxMessage).sentAt >= m.sentAt), 'newest first')
})

t.test('no code and no full number in the logs', async (t) => {
  expectCleanLogs(t, gw, secrets)
  const text = smsLog.text()
  t.ok(text.length > 0)
  for (const s of secrets) t.notOk(text.includes(s), 'factor-sms logs no code or number')
})
