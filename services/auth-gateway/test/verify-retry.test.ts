// Core NATS is at most once (SECURITY.md §3): a verify whose reply is lost must be repairable.
// The gateway names each verify attempt with an idempotency key (one per transaction, method and
// answer) and, after a TIMEOUT, asks once more with the same key; the factor answers the retry
// from its record of the first attempt (factor-totp: test/bus.test.ts). Here a scripted factor
// drops replies on purpose.
import t from 'tap'
import { BusError, verifyTotp, type RequestOf } from '@warden/contracts'
import { serveDescribe } from '@warden/contracts/nats'
import { addMicroService } from '@warden/service-kit'
import { STRATEGIES, type FactorStrategy } from '../src/factors/index.js'
import type { VerifyInput } from '../src/schemas.js'
import { expectError, loginAs, silentLog, startGateway } from './fixtures/gateway.js'
import { startPlaceholders } from './fixtures/fake-factors.js'

const gw = await startGateway(t, { env: { FACTOR_TIMEOUT_MS: '300' } })
await startPlaceholders(t, gw.nc)

type VerifyReq = RequestOf<typeof verifyTotp>
/** What the scripted factor does with the n-th verify it receives (0-based). */
type Script = (req: VerifyReq, n: number) => 'drop' | 'verified' | 'locked'
const scripts = new Map<string, Script>()
const received = new Map<string, VerifyReq[]>()

const svc = await addMicroService(gw.nc, { name: 'scripted-totp', version: '0.0.1', description: 'test: drops replies on purpose' })
t.teardown(() => svc.stop())
serveDescribe(svc, 'totp', async ({ userId }) => ({ factor: 'totp' as const, enrolled: scripts.has(userId), items: [] }), silentLog)
// The verify endpoint answers by hand, so that it can stay silent like a lost reply.
svc.addEndpoint('verify', {
  subject: verifyTotp.subject,
  handler: (_err, msg) => {
    const req = msg.json<VerifyReq>()
    const seen = received.get(req.userId) ?? []
    seen.push(req)
    received.set(req.userId, seen)
    const what = scripts.get(req.userId)?.(req, seen.length - 1) ?? 'drop'
    if (what === 'drop') return
    if (what === 'locked') {
      const err = new BusError('FACTOR_LOCKED', 'too many failed attempts: try again later', { retryAfterSec: 60 })
      msg.respondError(err.status, err.code, JSON.stringify(err.toBody()))
      return
    }
    msg.respond(JSON.stringify({ result: 'verified', verifiedAt: new Date().toISOString() }))
  },
})

async function signinWith (script: Script): Promise<{ token: string, username: string, txn: string }> {
  const { token, username } = await loginAs(gw)
  scripts.set(username, script)
  const start = (await gw.call('POST', '/v1/signin', { token })).json()
  if (start.status !== 'challenge') throw new Error(`setup: ${JSON.stringify(start)}`)
  return { token, username, txn: start.transactionId as string }
}

t.test('a lost reply is repaired: the same attempt is asked again with the same idempotency key', async (t) => {
  // The first reply never comes; the record answers the retry (as factor-totp does).
  const { token, username, txn } = await signinWith((_req, n) => n === 0 ? 'drop' : 'verified')
  const res = await gw.call('POST', `/v1/signin/${txn}/verify`, { token, body: { method: 'totp', code: '123456' } })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'verified', token: String })
  const seen = received.get(username) ?? []
  t.equal(seen.length, 2, 'asked twice')
  t.match(seen[0]?.idempotencyKey, /^[A-Za-z0-9_-]{22}$/, 'the attempt carries a 128-bit key')
  t.same(seen[1], seen[0], 'the retry is the same request, key included')
  t.match(gw.log.text(), /asking again with the same idempotency key/)
})

t.test('a factor that stays silent: 503 with Retry-After, the transaction still open, no third try', async (t) => {
  const { token, username, txn } = await signinWith(() => 'drop')
  const res = await gw.call('POST', `/v1/signin/${txn}/verify`, { token, body: { method: 'totp', code: '123456' } })
  expectError(t, res, 503, 'TIMEOUT')
  t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After')
  t.equal(received.get(username)?.length, 2)
  t.equal((await gw.call('GET', `/v1/signin/${txn}`, { token })).json().status, 'challenge', 'nothing was decided')
  // The user sends the same code again: the same key, so the factor answers from its record.
  scripts.set(username, () => 'verified')
  t.equal((await gw.call('POST', `/v1/signin/${txn}/verify`, { token, body: { method: 'totp', code: '123456' } })).json().status, 'verified')
  const keys = new Set(received.get(username)?.map((r) => r.idempotencyKey))
  t.equal(keys.size, 1, 'one key for one (transaction, method, code)')
})

t.test('attempt keys: the same answer in the same transaction is the same key; anything else is another', async (t) => {
  // The key of a verify body: the gateway's HMAC over what the method's strategy makes of the answer.
  const key = (flowId: string, input: VerifyInput): string =>
    gw.app.attemptKeys(flowId, input.method, (STRATEGIES[input.method] as FactorStrategy).verify?.attemptAnswer(input) ?? '')
  const flow = 'txn_' + 'A'.repeat(43)
  const other = 'txn_' + 'B'.repeat(43)
  const k = key(flow, { method: 'totp', code: '123456' })
  t.match(k, /^[A-Za-z0-9_-]{22}$/)
  t.equal(key(flow, { method: 'totp', code: '123456' }), k, 'deterministic')
  t.not(key(flow, { method: 'totp', code: '123457' }), k, 'another code')
  t.not(key(other, { method: 'totp', code: '123456' }), k, 'another transaction')
  t.not(key(flow, { method: 'sms', code: '123456' }), k, 'another method')
  t.not(key(flow, { method: 'recovery', code: 'ABCD-EFGH-IJKL-MNOP', recoveryMode: 'temporary' }), key(flow, { method: 'recovery', code: 'ABCD-EFGH-IJKL-MNOP', recoveryMode: 'permanent' }), 'another recovery mode')
  // Without the gateway's key it cannot be recomputed: a plain hash of the code would be.
  const { createHash } = await import('node:crypto')
  t.notOk([createHash('sha256').update('123456').digest('base64url'), createHash('sha256').update(`${flow}\ntotp\n123456`).digest('base64url')].some((h) => h.startsWith(k)))
})

t.test('an answer that is an error is never retried', async (t) => {
  const { token, username, txn } = await signinWith(() => 'locked')
  expectError(t, await gw.call('POST', `/v1/signin/${txn}/verify`, { token, body: { method: 'totp', code: '123456' } }), 429, 'FACTOR_LOCKED')
  t.equal(received.get(username)?.length, 1)
})
