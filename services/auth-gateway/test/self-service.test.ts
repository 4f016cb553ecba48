// The user's own 2FA (/v1/me) with a fake factor-totp on the bus: the step-up rule for changes,
// enrollment without 2FA, remembered devices listed and revoked, and turning 2FA off. Plus the
// logs of all of it: no code, token or secret.
import t from 'tap'
import { manualClock } from '@warden/testkit'
import { expectError, loginAs, mfaToken, startChallenge, startGateway } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

const WRONG_CODE = '482913'

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
