// Issue 7, the parts that need factors the real stack does not have yet, through the public API
// with the fake factor services on real NATS and Redis (one manual clock, never moved by itself):
// revocation after a permanent-loss recovery (while the factor services still hold the old
// factors), audit lines for push, missing factors and faults, readable error codes in the log,
// and the revocation store itself.
import t from 'tap'
import { createKvStoreFactory } from '@warden/store'
import { manualClock, uniqueUserId } from '@warden/testkit'
import { REVOCATION_BUCKET } from '../src/adapters/revocation.js'
import { expectError, loginAs, mfaToken, startChallenge, startGateway } from './fixtures/gateway.js'
import { FAKE_RECOVERY_CODE, startFakeFactors, startFakeTotp } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
const totp = await startFakeTotp(t, gw.nc)
const fakes = await startFakeFactors(t, gw.nc)

const auditLines = (transactionId: string) => gw.log.lines().map((l) => JSON.parse(l) as Record<string, any>)
  .filter((l) => l.audit === 'second_factor' && l.transactionId === transactionId)

t.test('permanent recovery: older MFA tokens die, the new enrollment token adds one factor and then dies too', async (t) => {
  const { username, token } = await loginAs(gw)
  totp.enroll(username)
  fakes.enroll(username, 'recovery', { createdAt: '2026-01-01T00:00:00.000Z' })
  const before = await mfaToken(gw, token)
  t.equal((await gw.call('DELETE', '/v1/me/remembered-devices/rdv_AAAAAAAAAAAAAAAAAAAAAA', { token, headers: { 'x-mfa-token': before } })).statusCode, 200, 'a good step-up before')

  const id = await startChallenge(gw, token)
  const reset = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'recovery', code: FAKE_RECOVERY_CODE, recoveryMode: 'permanent' } })
  t.equal(reset.json().status, 'reset')
  const enrollmentToken = reset.json().enrollmentToken as string
  gw.issued.push(enrollmentToken)
  t.match(auditLines(id), [{ outcome: 'reset', reason: 'permanent_recovery', factor: 'recovery', userId: username }])

  // The fakes do not consume user.reset: the user still "has" the old factors, as in the moments
  // before the real services catch up. The old MFA token is dead; the new enrollment token, issued
  // in the very millisecond of the reset on this clock, is not.
  expectError(t, await gw.call('DELETE', '/v1/me/remembered-devices/rdv_AAAAAAAAAAAAAAAAAAAAAA', { token, headers: { 'x-mfa-token': before } }), 403, 'STEP_UP_REQUIRED')
  const enroll = await gw.call('POST', '/v1/me/totp', { token, headers: { 'x-mfa-token': enrollmentToken } })
  t.equal(enroll.statusCode, 200, enroll.body.slice(0, 200))
  clock.advance(20_000) // the user scans the QR code
  const confirmed = await gw.call('POST', '/v1/me/totp/confirm', { token, headers: { 'x-mfa-token': enrollmentToken }, body: { enrollmentId: enroll.json().enrollmentId, code: '000000' } })
  t.match(confirmed.json(), { status: 'confirmed' })
  // Its first factor is bound: the enrollment token has done its job.
  expectError(t, await gw.call('POST', '/v1/me/totp', { token, headers: { 'x-mfa-token': enrollmentToken } }), 403, 'STEP_UP_REQUIRED')
  clock.advance(30_000) // a sign-in later
  const after = await mfaToken(gw, token)
  t.equal((await gw.call('POST', '/v1/me/totp', { token, headers: { 'x-mfa-token': after } })).statusCode, 200, 'a fresh MFA token does')
})

t.test('a wrong confirmation code with an enrollment token: the user without a factor can still go on', async (t) => {
  const { username, token } = await loginAs(gw)
  fakes.enroll(username, 'recovery')
  const id = await startChallenge(gw, token)
  const { enrollmentToken } = (await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'recovery', code: FAKE_RECOVERY_CODE, recoveryMode: 'permanent' } })).json()
  fakes.unenroll(username, 'recovery') // the recovery service caught up with user.reset
  const e = (await gw.call('POST', '/v1/me/totp', { token, headers: { 'x-mfa-token': enrollmentToken } })).json()
  clock.advance(5_000)
  t.match((await gw.call('POST', '/v1/me/totp/confirm', { token, headers: { 'x-mfa-token': enrollmentToken }, body: { enrollmentId: e.enrollmentId, code: '123123' } })).json(), { status: 'rejected' })
  // The attempt at a first factor revoked the token; with no factor, the primary token alone does.
  t.match((await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: e.enrollmentId, code: '000000' } })).json(), { status: 'confirmed' })
})

t.test('audit lines for push (denied, approved), a factor the user does not have, and a fault; the fault\'s error code is readable in the log, the code is not', async (t) => {
  const { username, token } = await loginAs(gw, undefined, 'pushy-app')
  fakes.enroll(username, 'push', { items: [{ id: 'dev_1', label: 'Pixel 8' }] })
  totp.enroll(username)

  const denied = await startChallenge(gw, token)
  const ch1 = (await gw.call('POST', `/v1/signin/${denied}/challenge`, { token, body: { method: 'push' } })).json()
  fakes.answerPush(ch1.challengeId, 'denied')
  t.equal((await gw.call('GET', `/v1/signin/${denied}/push/${ch1.challengeId as string}`, { token })).json().state, 'denied')
  t.match(auditLines(denied), [{ factor: 'push', outcome: 'rejected', reason: 'denied', clientId: 'pushy-app', ip: '127.0.0.1', purpose: 'signin' }])

  const approved = await startChallenge(gw, token)
  const ch2 = (await gw.call('POST', `/v1/signin/${approved}/challenge`, { token, body: { method: 'push' } })).json()
  fakes.answerPush(ch2.challengeId, 'approved')
  const polled = await gw.call('GET', `/v1/signin/${approved}/push/${ch2.challengeId as string}`, { token })
  t.equal(polled.json().state, 'approved')
  gw.issued.push(polled.json().token)
  t.match(auditLines(approved), [{ factor: 'push', outcome: 'verified' }])

  const other = await startChallenge(gw, token)
  expectError(t, await gw.call('POST', `/v1/signin/${other}/verify`, { token, body: { method: 'sms', code: '123456' } }), 409, 'NOT_ENROLLED')
  t.match(auditLines(other), [{ factor: 'sms', outcome: 'rejected', reason: 'not_enrolled' }])
  // 999999 makes the fake answer BAD_REQUEST, as if the gateway had sent something invalid: our 500.
  expectError(t, await gw.call('POST', `/v1/signin/${other}/verify`, { token, body: { method: 'totp', code: '999999' } }), 500, 'INTERNAL')
  t.match(auditLines(other).at(-1), { factor: 'totp', outcome: 'error', reason: 'internal' })
  // 888888: the factor is locked.
  expectError(t, await gw.call('POST', `/v1/signin/${other}/verify`, { token, body: { method: 'totp', code: '888888' } }), 429, 'FACTOR_LOCKED')
  t.match(auditLines(other).at(-1), { factor: 'totp', outcome: 'rejected', reason: 'locked' })
  t.equal(auditLines(other).length, 3, 'one line per answer')

  const fault = gw.log.lines().find((l) => l.includes('"request failed"') && l.includes('"errorCode":"INTERNAL"'))
  t.ok(fault, 'the fault is logged')
  t.match(fault, /"err":\{[^}]*"code":"BAD_REQUEST"/, 'its cause\'s error code is readable')
  const text = gw.log.text()
  for (const code of ['999999', '888888', '123456']) t.notOk(text.includes(`"${code}"`), `no code ${code}`)
  t.notOk(text.includes(FAKE_RECOVERY_CODE), 'no emergency code')
  for (const issued of gw.issued) t.notOk(text.includes(issued.split('.')[2] as string), 'no token')
})

t.test('the revocation store moves forward only, keeps the latest of parallel bumps, and fails closed on what it cannot read', async (t) => {
  const user = uniqueUserId()
  const rev = gw.app.revocation
  t.equal(await rev.validAfter(user), undefined)
  t.equal(await rev.revokeIssuedUpTo(user, new Date(5_000)), 5_000)
  t.equal(await rev.revokeIssuedUpTo(user, new Date(4_000)), 5_000, 'never back')
  t.equal(await rev.validAfter(user), 5_000)
  const times = Array.from({ length: 8 }, (_, i) => 10_000 + i * 1_000)
  await Promise.all(times.map((ms) => rev.revokeIssuedUpTo(user, new Date(ms))))
  t.equal(await rev.validAfter(user), 17_000, 'the latest of parallel bumps')

  const broken = uniqueUserId()
  const bucket = await createKvStoreFactory(gw.nc).open<unknown>(REVOCATION_BUCKET)
  await bucket.put(['user', broken], { validAfter: 'yesterday' })
  await t.rejects(rev.validAfter(broken), { code: 'UNAVAILABLE' }, 'an unreadable cutoff is a 503, never "not revoked"')
})
