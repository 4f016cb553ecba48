// A factor service that does not answer: GET /v1/me/factors still answers (available: false),
// a hanging one costs DESCRIBE_TIMEOUT_MS, sign-in keeps working for users of other factors and
// fails closed (503) for the others, and all is normal once it is back. With every factor up, a
// start asks them all with one scatter describe and does not wait for the deadline.
import t from 'tap'
import type { Msg } from '@nats-io/transport-node'
import { describeFactors, describePush } from '@warden/contracts'
import { expectCleanLogs, expectError, loginAs, startGateway } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const gw = await startGateway(t)
const placeholders = await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

t.test('every factor up: one describe publish per start, answered before the deadline', async (t) => {
  const user = await loginAs(gw)
  fake.enroll(user.username)
  const seen: string[] = []
  const spy = gw.nc.subscribe('warden.*.v1.describe', { callback: (_err, m: Msg) => { seen.push(m.subject) } })
  t.teardown(() => { spy.unsubscribe() })
  await gw.nc.flush()
  const started = Date.now()
  const res = await gw.call('POST', '/v1/signin', { token: user.token })
  const elapsed = Date.now() - started
  t.match(res.json(), { status: 'challenge', defaultMethod: 'totp' })
  t.same(res.json().methods.map((m: { method: string, available: boolean }) => [m.method, m.available]), [['totp', true]], 'every factor heard: only totp enrolled')
  t.ok(elapsed < 700, `back before the describe deadline of 800 ms (${elapsed} ms)`)
  await gw.nc.flush()
  t.same(seen, [describeFactors.subject], 'one request on the scatter subject, none per factor')
})

t.test('degradation: a factor that does not answer', async (t) => {
  const withTotp = await loginAs(gw)
  fake.enroll(withTotp.username)
  const without = await loginAs(gw)
  await placeholders.get('push')?.()

  // One scatter describe cannot tell a stopped service from a slow one: its absence costs the
  // describe deadline (before, five requests got an instant no-responders for it).
  t.test('GET /v1/me/factors still answers within the describe deadline, with that factor unavailable', async (t) => {
    const started = Date.now()
    const res = await gw.call('GET', '/v1/me/factors', { token: without.token })
    const elapsed = Date.now() - started
    t.ok(elapsed < 1_500, `bounded by the describe deadline (${elapsed} ms)`)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { twoFactor: 'unknown' })
    t.same(res.json().factors.find((f: { factor: string }) => f.factor === 'push'), { factor: 'push', available: false })
    t.match(res.json().factors.find((f: { factor: string }) => f.factor === 'totp'), { available: true, enrolled: false })
  })

  t.test('a hanging factor costs DESCRIBE_TIMEOUT_MS, no more', async (t) => {
    // Hears on its own subject and on the scatter subject, never answers.
    const subs = [describePush.subject, describeFactors.subject].map((subject) => gw.nc.subscribe(subject, { queue: 'hanging-push', callback: () => {} }))
    t.teardown(() => { for (const sub of subs) sub.unsubscribe() })
    await gw.nc.flush()
    const started = Date.now()
    const res = await gw.call('GET', '/v1/me/factors', { token: withTotp.token })
    const elapsed = Date.now() - started
    t.ok(elapsed >= 250 && elapsed < 1_500, `bounded by the describe deadline (${elapsed} ms)`)
    t.match(res.json(), { twoFactor: 'enrolled' })
    t.same(res.json().factors[0], { factor: 'push', available: false })
  })

  t.test('sign-in keeps working for users of other factors, and fails closed for the rest', async (t) => {
    const res = await gw.call('POST', '/v1/signin', { token: withTotp.token })
    t.match(res.json(), { status: 'challenge', defaultMethod: 'totp' })
    t.same(res.json().methods, [{ method: 'push', available: false, items: [] }, { method: 'totp', available: true, createdAt: '2026-01-01T00:00:00.000Z', items: [] }],
      'the silent factor is listed as unavailable')
    const closed = await gw.call('POST', '/v1/signin', { token: without.token })
    expectError(t, closed, 503, 'UNAVAILABLE')
    t.ok(Number(closed.headers['retry-after']) > 0)
    expectError(t, await gw.call('POST', '/v1/me/totp', { token: without.token }), 503, 'UNAVAILABLE')
  })

  t.test('with the factor back, all is normal', async (t) => {
    const again = await startPlaceholders(t, gw.nc, ['push'])
    t.teardown(async () => { await again.get('push')?.() })
    t.match((await gw.call('GET', '/v1/me/factors', { token: without.token })).json(), { twoFactor: 'none' })
    t.equal((await gw.call('POST', '/v1/signin', { token: without.token })).json().status, 'not_required')
  })
})

t.test('logs never carry tokens or secrets', async (t) => { expectCleanLogs(t, gw) })
