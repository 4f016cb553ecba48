// Malformed input on the sign-in and /v1/me routes: 400 BAD_REQUEST, and nothing changes (no
// transaction, no factor call). Generated junk on every operation is in fuzz.test.ts.
import t from 'tap'
import { expectError, loginAs, startChallenge, startGateway } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const gw = await startGateway(t)
await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

t.test('malformed input on every route is 400 BAD_REQUEST and changes nothing', async (t) => {
  const { username, token } = await loginAs(gw)
  fake.enroll(username)
  const id = await startChallenge(gw, token)
  const badCodes: unknown[] = ['', '12345', '1234567', '١٢٣٤٥٦', '１２３４５６', 123456, {}, [], null, true, ' 12345', '12345 ', '12 345', '12345a', '+12345', '0x1234', '123456\n']

  for (const code of badCodes) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code } }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA', code } }), 400, 'BAD_REQUEST')
  }
  for (const body of [{}, { code: '000000' }, { method: 'sms' }, { method: 'push', code: '000000' }, { method: 'TOTP', code: '000000' }, { method: 'totp', code: '000000', extra: 1 }, [], 'totp']) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: '{"method":"totp","code":"000000"' }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token }), 400, 'BAD_REQUEST')

  for (const bad of ['txn_short', 'abc', `txn_${'A'.repeat(42)}!`, `txn_${'A'.repeat(44)}`, `TXN_${'A'.repeat(43)}`, `txn_${'A'.repeat(42)}%00`, 'x'.repeat(300), '%E0%A4%A']) {
    expectError(t, await gw.call('GET', `/v1/signin/${bad}`, { token }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', `/v1/signin/${bad}/verify`, { token, body: { method: 'totp', code: '000000' } }), 400, 'BAD_REQUEST')
  }

  for (const enrollmentId of ['', 'enr', 'x'.repeat(500), 42, null, 'enr_AAAA AAAAAAAAAAAAAAAAA']) {
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: '000000' } }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { code: '000000' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: '{bad json' }), 400, 'BAD_REQUEST')

  const keysBefore = (await gw.redis.keys('gw:signin:*')).length
  for (const body of [{ purpose: 'login' }, { purpose: 1 }, { action: 'has space' }, { action: 'x'.repeat(65) }, { context: { ip: 'not an ip!' } },
    { context: { userAgent: 'x'.repeat(513) } }, { context: { extra: 1 } }, { context: 'ctx' }, { extra: true }, [], 'signin', 42,
    // A step-up needs its action; an action is only for a step-up; actions are lower case.
    { purpose: 'step-up' }, { purpose: 'step-up', action: '' }, { purpose: 'step-up', action: 'Change-Bank' }, { purpose: 'step-up', action: '-x' },
    { purpose: 'step-up', action: 'a'.repeat(65) }, { purpose: 'step-up', action: 42 }, { action: 'change-bank-details' }, { purpose: 'signin', action: 'x' },
    { rememberToken: 'rd_short' }, { rememberToken: `rd_${'A'.repeat(43)}=` }, { rememberToken: `RD_${'A'.repeat(43)}` }, { rememberToken: 42 }, { rememberToken: null }]) {
    expectError(t, await gw.call('POST', '/v1/signin', { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', '/v1/signin', { token, body: '{"purpose":' }), 400, 'BAD_REQUEST')
  t.equal((await gw.redis.keys('gw:signin:*')).length, keysBefore, 'no transaction was created')

  t.equal(fake.callsOf(username, 'verify'), 0, 'no verify reached the factor')
  t.equal(fake.callsOf(username, 'confirm'), 0, 'no confirm reached the factor')
  const flow = JSON.parse(await gw.redis.get(`gw:signin:${id}`) as string)
  t.match(flow, { state: 'challenge', attempts: 0, rev: 0 }, 'the transaction is untouched')
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
  t.equal(ok.json().status, 'verified', 'and still usable')
  gw.issued.push(ok.json().token)

  expectError(t, await gw.call('GET', '/v1/nothing-here', { token }), 404, 'NOT_FOUND')
})
