// End to end through the REST API: the gateway, the real factor-totp (in this process, on the
// test's clock, so it can be stopped and started again) and the real recovery service (the built
// process), over real NATS and Redis. The setup wizard to its last step and resumed, the stale
// primary token, both recovery flows (permanent loss with factor-totp down during the reset), the
// parallel double spend, the lock, the support code and disable under a required policy.
import { generateKeyRingSpec } from '@warden/service-kit'
import { loadTotpConfig, startTotpService } from '@warden/factor-totp'
import { captureLog, eventually, manualClock, startInfra, startServiceProcess } from '@warden/testkit'
import t from 'tap'
import { expectError, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startPlaceholders } from './fixtures/fake-factors.js'
import { policy, totpUsers, type TotpUser } from './fixtures/totp-users.js'

const SHOWN = /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/
const clock = manualClock(new Date())
const infra = await startInfra(t)
const totpLog = captureLog()
const totpConfig = loadTotpConfig({
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, SECRET_KEYS: generateKeyRingSpec(), LOG_LEVEL: 'info', OPS_HOST: '127.0.0.1', OPS_PORT: '0',
})
let totp = await startTotpService(totpConfig, { clock, logDestination: totpLog.stream })
t.teardown(() => totp.stop())
const gw = await startGateway(t, { clock, infra })
await startPlaceholders(t, gw.nc, ['push', 'webauthn', 'sms'])
// No free failures: the lock is reached without waiting out the throttle in real time.
const recovery = await startServiceProcess(t, 'recovery', {
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, LOG_LEVEL: 'debug', SECRET_KEYS: generateKeyRingSpec(), RECOVERY_FREE_FAILURES: '100',
})
const { seen, enrollAndConfirm, login, signinAs, verifyNext } = totpUsers(gw, clock)
const codesShown: string[] = []

/** A fresh MFA token for `u` (a sign-in answered with the app's next code): the step-up proof. */
async function mfaOf (u: TotpUser): Promise<string> {
  const start = await signinAs(u)
  const done = await verifyNext(u, start.transactionId as string)
  return done.token as string
}

/** A user with the authenticator app and an acknowledged emergency code. */
async function userWithCode (clientId?: string): Promise<TotpUser & { code: string }> {
  const username = uniqueUsername('rec')
  const token = await login(username, clientId)
  const u: TotpUser = { username, token, secret: await enrollAndConfirm(token), ...(clientId === undefined ? {} : { clientId }) }
  const mfa = await mfaOf(u)
  const issued = await gw.call('POST', '/v1/me/recovery-code', { token: await login(username, clientId), headers: { 'x-mfa-token': mfa } })
  if (issued.statusCode !== 200) throw new Error(`issue: ${issued.body}`)
  const code = issued.json().code as string
  codesShown.push(code)
  await gw.call('POST', '/v1/me/recovery-code/ack', { token: await login(username, clientId), headers: { 'x-mfa-token': mfa }, body: { stored: true } })
  return { ...u, code }
}

async function verifyRecovery (u: TotpUser, code: string, recoveryMode: 'temporary' | 'permanent', transactionId?: string) {
  const id = transactionId ?? (await signinAs(u)).transactionId as string
  return gw.call('POST', `/v1/signin/${id}/verify`, { token: await login(u.username, u.clientId), body: { method: 'recovery', code, recoveryMode } })
}

t.test('the setup wizard through the REST API: every step, resumed, complete only after the acknowledgement', async (t) => {
  const username = uniqueUsername('wiz')
  const token = await login(username)
  const state = async () => (await gw.call('GET', '/v1/me/enrollment', { token: await login(username) })).json()
  t.same(await state(), {
    steps: [
      { step: 'info', state: 'current' },
      { step: 'app', factor: 'totp', state: 'todo' }, { step: 'confirm-code', factor: 'totp', state: 'todo' },
      { step: 'phone', factor: 'sms', state: 'todo', optional: true }, { step: 'sms-code', factor: 'sms', state: 'todo', optional: true },
      { step: 'emergency-code', factor: 'recovery', state: 'todo' },
      { step: 'done', state: 'todo' },
    ],
    current: 'info',
    complete: false,
    reauthenticate: false,
  }, 'the seeds\' steps; the backup phone is optional')
  expectError(t, await gw.call('POST', '/v1/me/recovery-code', { token }), 409, 'NOT_ENROLLED')

  const u: TotpUser = { username, token, secret: await enrollAndConfirm(token) }
  t.match(await state(), { current: 'emergency-code', complete: false, steps: [{ state: 'done' }, { state: 'done' }, { state: 'done' }] }, 'resumes at the emergency code')
  expectError(t, await gw.call('POST', '/v1/me/recovery-code', { token: await login(username) }), 403, 'STEP_UP_REQUIRED')

  const mfa = await mfaOf(u)
  const first = await gw.call('POST', '/v1/me/recovery-code', { token: await login(username), headers: { 'x-mfa-token': mfa } })
  t.equal(first.statusCode, 200)
  t.match(first.json(), { code: SHOWN, codeId: /^rcv_/, createdAt: String })
  codesShown.push(first.json().code)
  t.match(await state(), { current: 'emergency-code', complete: false }, 'issued but not acknowledged: the wizard resumes at the same step')

  // Closed without ticking the box: the wizard shows a new code (the old one is never shown again).
  const second = await gw.call('POST', '/v1/me/recovery-code', { token: await login(username), headers: { 'x-mfa-token': mfa, 'idempotency-key': 'wizard-retry-key-0001' } })
  codesShown.push(second.json().code)
  t.not(second.json().code, first.json().code)
  const retried = await gw.call('POST', '/v1/me/recovery-code', { token: await login(username), headers: { 'x-mfa-token': mfa, 'idempotency-key': 'wizard-retry-key-0001' } })
  t.same(retried.json(), second.json(), 'a retry with the same Idempotency-Key gets the same code')
  expectError(t, await gw.call('POST', '/v1/me/recovery-code/ack', { token: await login(username), headers: { 'x-mfa-token': mfa }, body: { stored: true, codeId: first.json().codeId } }), 409, 'CONFLICT')
  expectError(t, await gw.call('POST', '/v1/me/recovery-code/ack', { token: await login(username), headers: { 'x-mfa-token': mfa }, body: { stored: false } }), 400, 'BAD_REQUEST')
  const ack = await gw.call('POST', '/v1/me/recovery-code/ack', { token: await login(username), headers: { 'x-mfa-token': mfa }, body: { stored: true, codeId: second.json().codeId } })
  t.match(ack.json(), { codeId: second.json().codeId, acknowledgedAt: String })
  t.match(await state(), { current: 'done', complete: true, steps: [{}, {}, {}, { state: 'skipped' }, { state: 'skipped' }, { state: 'done' }, { state: 'done' }] })

  // The first code was replaced in the same write: it no longer signs in.
  t.match((await verifyRecovery(u, first.json().code, 'temporary')).json(), { status: 'rejected', reason: 'invalid_code' })
  t.match((await gw.call('GET', '/v1/me/factors', { token: await login(username) })).json().factors, [{}, {}, {}, {}, { factor: 'recovery', enrolled: true, items: [{ label: 'Emergency code', verified: true }] }])
})

t.test('starting the wizard needs a recent password: a stale primary token is refused', async (t) => {
  const username = uniqueUsername('stale')
  const stale = await login(username)
  clock.advance(6 * 60_000)
  t.match((await gw.call('GET', '/v1/me/enrollment', { token: stale })).json(), { current: 'info', reauthenticate: true })
  expectError(t, await gw.call('POST', '/v1/me/totp', { token: stale }), 401, 'REAUTHENTICATION_REQUIRED')
  const fresh = await login(username)
  t.match((await gw.call('GET', '/v1/me/enrollment', { token: fresh })).json(), { reauthenticate: false })
  t.equal((await gw.call('POST', '/v1/me/totp', { token: fresh })).statusCode, 200, 'the password again: a new primary token')
})

t.test('temporary loss: signed in once with a new code; the old one is dead', async (t) => {
  const u = await userWithCode()
  const start = await signinAs(u)
  t.match(start.methods, [{ method: 'totp' }, { method: 'recovery', available: true }])
  const typed = u.code.toLowerCase().replaceAll('-', ' ')
  const res = await verifyRecovery(u, typed, 'temporary', start.transactionId)
  t.equal(res.statusCode, 200)
  const answer = res.json()
  t.match(answer, { status: 'verified', token: String, newRecoveryCode: SHOWN }, 'lowercase and spaces are fine')
  seen.tokens.push(answer.token)
  codesShown.push(answer.newRecoveryCode)
  const claims = JSON.parse(Buffer.from(String(answer.token).split('.')[1] ?? '', 'base64url').toString()) as { amr: string[], acr: string }
  t.same(claims.amr, ['otp', 'mfa'], 'a look-up secret: amr otp')
  t.equal(claims.acr, 'aal2')
  t.match((await verifyRecovery(u, u.code, 'temporary')).json(), { status: 'rejected', reason: 'invalid_code' }, 'the old code is dead')
  t.match((await verifyRecovery(u, answer.newRecoveryCode, 'temporary')).json(), { status: 'verified', newRecoveryCode: SHOWN }, 'the new one works')
  expectError(t, await verifyRecovery(u, 'ABCD-EFGH-IJKL-MN01', 'temporary'), 400, 'BAD_REQUEST')
})

t.test('two parallel uses of one code: exactly one winner', async (t) => {
  const u = await userWithCode()
  const [a, b] = await Promise.all([signinAs(u), signinAs(u)])
  const results = await Promise.all([verifyRecovery(u, u.code, 'temporary', a.transactionId), verifyRecovery(u, u.code, 'temporary', b.transactionId)])
  const bodies = results.map((r) => r.json())
  t.equal(bodies.filter((x) => x.status === 'verified').length, 1, 'one verified')
  t.match(bodies.filter((x) => x.status === 'rejected'), [{ reason: 'replayed' }], 'the other was too late')
  for (const x of bodies) if (x.newRecoveryCode !== undefined) codesShown.push(x.newRecoveryCode)
})

t.test('throttling: 10 wrong codes lock code recovery, and the right code is refused while locked', async (t) => {
  const u = await userWithCode()
  let last: Record<string, unknown> = {}
  for (let i = 0; i < 10; i++) last = (await verifyRecovery(u, `ABCD-EFGH-IJKL-MNO${'ABCDEFGHIJ'[i] ?? 'A'}`, 'temporary')).json()
  t.match(last, { status: 'rejected', reason: 'invalid_code', attemptsLeft: 0 })
  const locked = await verifyRecovery(u, u.code, 'temporary')
  expectError(t, locked, 429, 'FACTOR_LOCKED')
  t.ok(Number(locked.headers['retry-after']) > 0, 'Retry-After')
  const start = await signinAs(u)
  t.match(start.methods, [{ method: 'totp' }, { method: 'recovery', lockedUntil: String }], 'the lock is shown; the app is still offered')
})

t.test('permanent loss: 2FA reset everywhere, also in factor-totp while it was down', async (t) => {
  const u = await userWithCode()
  await totp.stop()
  const start = await signinAs(u)
  t.match(start.methods, [{ method: 'totp', available: false }, { method: 'recovery', available: true }])
  const res = await verifyRecovery(u, u.code, 'permanent', start.transactionId)
  t.match(res.json(), { status: 'reset', enrollmentToken: String })
  const enrollmentToken = res.json().enrollmentToken as string
  seen.tokens.push(enrollmentToken)

  totp = await startTotpService(totpConfig, { clock, logDestination: totpLog.stream })
  await eventually(async () => {
    const factors = (await gw.call('GET', '/v1/me/factors', { token: await login(u.username) })).json()
    return factors.twoFactor === 'none'
  }, { what: 'factor-totp catching up with user.reset', timeoutMs: 15_000 })
  t.match((await gw.call('GET', '/v1/me/factors', { token: await login(u.username) })).json().factors, [{}, {}, { factor: 'totp', enrolled: false }, {}, { factor: 'recovery', enrolled: false }])
  t.match((await gw.call('GET', '/v1/me/enrollment', { token: await login(u.username) })).json(), { current: 'info', complete: false }, 'the wizard starts again')
  t.equal((await gw.call('POST', '/v1/me/totp', { token: await login(u.username), headers: { 'x-mfa-token': enrollmentToken } })).statusCode, 200, 'the enrollment token runs the wizard')
})

t.test('support code: admin only, single use, spent where an emergency code goes', async (t) => {
  const u = await userWithCode()
  const path = `/v1/admin/users/${u.username}/temporary-code`
  expectError(t, await gw.call('POST', path, { token: await login(u.username), body: {} }), 403, 'FORBIDDEN')
  expectError(t, await gw.call('POST', path, { body: {} }), 401, 'UNAUTHENTICATED')
  const admin = await login('admin')
  expectError(t, await gw.call('POST', path, { token: admin, body: { ttlSec: 86_401 } }), 400, 'BAD_REQUEST')
  const issued = await gw.call('POST', path, { token: admin })
  t.equal(issued.statusCode, 200)
  const { code, expiresAt } = issued.json() as { code: string, expiresAt: string }
  codesShown.push(code)
  t.match(code, SHOWN)
  t.ok(Date.parse(expiresAt) - Date.now() <= 3_600_000 + 5_000, 'one hour by default')
  t.ok(Date.parse((await gw.call('POST', path, { token: admin, body: { ttlSec: 86_400 } })).json().expiresAt) - Date.now() <= 86_400_000 + 5_000, '24 h at most')
  const again = await gw.call('POST', path, { token: admin, body: { ttlSec: 600 } })
  const support = again.json().code as string
  codesShown.push(support)
  t.match((await verifyRecovery(u, code, 'temporary')).json(), { status: 'rejected', reason: 'invalid_code' }, 'a newer support code replaces the older one')
  const used = await verifyRecovery(u, support, 'temporary')
  t.match(used.json(), { status: 'verified', newRecoveryCode: SHOWN })
  codesShown.push(used.json().newRecoveryCode)
  t.match((await verifyRecovery(u, support, 'temporary')).json(), { status: 'rejected', reason: 'invalid_code' }, 'single use')
  t.match((await verifyRecovery(u, u.code, 'temporary')).json(), { status: 'rejected', reason: 'invalid_code' }, 'once used it replaced the lost emergency code')
})

t.test('disable is refused where the application requires 2FA', async (t) => {
  const u = await userWithCode('bank')
  await gw.app.policies.put('bank', policy('required'))
  const mfa = await mfaOf(u)
  expectError(t, await gw.call('POST', '/v1/me/disable', { token: await login(u.username, 'bank'), headers: { 'x-mfa-token': mfa }, body: {} }), 403, 'TWO_FACTOR_REQUIRED')
  await gw.app.policies.put('bank', policy('adaptive'))
  t.match((await gw.call('POST', '/v1/me/disable', { token: await login(u.username, 'bank'), headers: { 'x-mfa-token': await mfaOf({ ...u, token: await login(u.username, 'bank') }) }, body: {} })).json(), { disabled: true })
})

t.test('no emergency or support code in any log', async (t) => {
  t.ok(codesShown.length >= 8)
  const logs = gw.log.text() + totpLog.text() + recovery.output()
  for (const code of codesShown) {
    for (const form of [code, code.replaceAll('-', ''), code.replaceAll('-', '').toLowerCase()]) t.notOk(logs.includes(form), 'not logged')
  }
})
