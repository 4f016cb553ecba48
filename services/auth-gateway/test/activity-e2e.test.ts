// End to end for issue 14: the gateway, the real notifier and the real factor-totp in this
// process (the other factors are fakes on the bus), over real NATS, Redis and HTTP, with one
// manual clock. The activity feed after a factor change, pagination and its malformed input, the
// admin-only audit query and webhook admin, a signed delivery, and the "Not you?" lock.
import t from 'tap'
import { networkSeen, NOTIFIER_DEMO_OUTBOX_KEY, verificationRejected } from '@warden/contracts'
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { createEventPublisher, generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock, startInfra, startWebhookReceiver, verifyStandardWebhook } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import { expectError, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeFactors } from './fixtures/fake-factors.js'
import { startRealTotp, totpCode } from './fixtures/stack.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)
await startRealTotp(t, infra, clock)
const gw = await startGateway(t, { clock, infra })
await startFakeFactors(t, gw.nc)
const notifierLog = captureLog()
const notifier = await startNotifier(loadNotifierConfig({
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', DEMO_MODE: 'true', LOG_LEVEL: 'info',
  SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'),
}), { clock, logDestination: notifierLog.stream, autoDispatch: false })
t.teardown(() => notifier.stop())
const publisher = createEventPublisher(gw.nc, clock)

async function eventually (what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!await probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const put = (url: string, token: string, body: unknown) => gw.app.inject({ method: 'PUT', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) })

async function enrollTotp (token: string): Promise<void> {
  const e = (await gw.call('POST', '/v1/me/totp', { token })).json() as { enrollmentId: string, secret: string }
  const r = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: e.enrollmentId, code: totpCode(clock, e.secret) } })
  if (r.json().status !== 'confirmed') throw new Error('enrollment failed')
}

t.test('after a factor change the activity feed shows it', async (t) => {
  const username = uniqueUsername('act')
  const token = await gw.login(username)
  t.same((await gw.call('GET', '/v1/me/activity', { token })).json(), { events: [] })
  await enrollTotp(token)
  await eventually('the enrollment in the feed', async () => (await gw.call('GET', '/v1/me/activity', { token })).json().events.length === 1)
  const res = await gw.call('GET', '/v1/me/activity', { token })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.json(), { events: [{ type: 'factor.enrolled', occurredAt: String, details: { factor: 'totp', itemId: String }, context: {} }] })
  t.notOk(res.body.includes('secret'), 'never a secret')
})

t.test('pagination, filters and malformed queries', async (t) => {
  const username = uniqueUsername('page')
  const token = await gw.login(username)
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    clock.advance(1000)
    ids.push(await publisher.publish(networkSeen, { userId: username, context: { clientId: 'demo-app', ip: `198.51.100.${i}`, userAgent: 'Firefox' } }))
  }
  clock.advance(1000)
  await publisher.publish(verificationRejected, { userId: username, factor: 'totp', reason: 'invalid_code' })
  await eventually('six events', async () => (await gw.call('GET', `/v1/me/activity?limit=100`, { token })).json().events.length === 5)
  const seen: string[] = []
  let url = '/v1/me/activity?limit=2'
  for (;;) {
    const page = (await gw.call('GET', url, { token })).json() as { events: Array<{ eventId: string }>, nextCursor?: string }
    seen.push(...page.events.map((e) => e.eventId))
    if (page.nextCursor === undefined) break
    url = `/v1/me/activity?limit=2&cursor=${page.nextCursor}`
  }
  t.same(seen, [...ids].reverse(), 'every event once, newest first; the audit-only rejection is not in the user\'s feed')
  const first = (await gw.call('GET', '/v1/me/activity?limit=1', { token })).json()
  t.same(first.events[0].context, { clientId: 'demo-app', ip: '198.51.100.4', userAgent: 'Firefox' }, 'application, IP and user agent')
  t.equal((await gw.call('GET', '/v1/me/activity?types=network.seen,factor.removed', { token })).json().events.length, 5)

  for (const bad of ['limit=0', 'limit=101', 'limit=x', 'types=NOPE', 'types=a.b,,c.d', 'since=yesterday', 'cursor=not%20base64', 'extra=1']) {
    expectError(t, await gw.call('GET', `/v1/me/activity?${bad}`, { token }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('GET', '/v1/me/activity?types=factor.exploded', { token }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('GET', `/v1/me/activity?cursor=${Buffer.from('["2026-01-01T00:00:00Z","x"]').toString('base64url')}`, { token }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('GET', '/v1/me/activity'), 401, 'UNAUTHENTICATED')
})

t.test('the audit query and webhook admin are admin only', async (t) => {
  const user = await gw.login(uniqueUsername('plain'))
  for (const [method, url] of [['GET', '/v1/admin/users/alice/events'], ['GET', '/v1/admin/webhooks/w1'], ['DELETE', '/v1/admin/webhooks/w1']] as const) {
    expectError(t, await gw.call(method, url, { token: user }), 403, 'FORBIDDEN')
    expectError(t, await gw.call(method, url), 401, 'UNAUTHENTICATED')
  }
  expectError(t, await put('/v1/admin/webhooks/w1', user, { url: 'https://x.example/h', events: ['*'], enabled: true }), 403, 'FORBIDDEN')

  const admin = await gw.login('admin')
  const username = uniqueUsername('aud')
  await publisher.publish(verificationRejected, { userId: username, factor: 'totp', reason: 'replayed' })
  await eventually('the rejection in the audit', async () => (await gw.call('GET', `/v1/admin/users/${username}/events`, { token: admin })).json().events?.length === 1)
  t.match((await gw.call('GET', `/v1/admin/users/${username}/events?types=verification.rejected`, { token: admin })).json(),
    { events: [{ type: 'verification.rejected', details: { factor: 'totp', reason: 'replayed' } }] })
  expectError(t, await gw.call('GET', `/v1/admin/users/${username}/events?limit=500`, { token: admin }), 400, 'BAD_REQUEST')
})

t.test('webhooks: the secret once, a signed delivery, SSRF refusals, delete', async (t) => {
  const admin = await gw.login('admin')
  const receiver = await startWebhookReceiver(t)
  const created = await put('/v1/admin/webhooks/e2e', admin, { url: receiver.url, events: ['network.seen'], enabled: true })
  t.equal(created.statusCode, 201)
  const secret = created.json().secret as string
  t.match(secret, /^whsec_/)
  const replaced = await put('/v1/admin/webhooks/e2e', admin, { url: receiver.url, events: ['network.seen'], enabled: true })
  t.equal(replaced.statusCode, 200)
  t.equal(replaced.json().secret, undefined, 'shown once')
  t.notOk((await gw.call('GET', '/v1/admin/webhooks/e2e', { token: admin })).body.includes('whsec_'))

  const username = uniqueUsername('hook')
  clock.advance(1000)
  const eventId = await publisher.publish(networkSeen, { userId: username, context: { ip: '203.0.113.77' } })
  await eventually('the event queued', async () => (await gw.call('GET', `/v1/admin/users/${username}/events`, { token: admin })).json().events?.length === 1)
  await notifier.dispatcher.runUntilIdle()
  const [delivery] = receiver.accepted()
  t.equal(delivery?.headers['webhook-id'], eventId)
  t.ok(verifyStandardWebhook(secret, delivery?.headers ?? {}, delivery?.body ?? '', { now: clock.now() }), 'a valid Standard Webhooks signature')

  for (const [what, body] of [
    ['a private address', { url: 'http://10.0.0.5/hook', events: ['*'], enabled: true }],
    ['cloud metadata', { url: 'http://169.254.169.254/latest/meta-data', events: ['*'], enabled: true }],
    ['an unknown event type', { url: receiver.url, events: ['factor.exploded'], enabled: true }],
    ['no events', { url: receiver.url, events: [], enabled: true }],
    ['an extra field', { url: receiver.url, events: ['*'], enabled: true, secret: 'mine' }],
  ] as const) {
    expectError(t, await put('/v1/admin/webhooks/bad', admin, body), 400, 'BAD_REQUEST')
    t.comment(what)
  }
  expectError(t, await put('/v1/admin/webhooks/has%20space', admin, { url: receiver.url, events: ['*'], enabled: true }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('GET', '/v1/admin/webhooks/bad', { token: admin }), 404, 'NOT_FOUND')
  t.same((await gw.call('DELETE', '/v1/admin/webhooks/e2e', { token: admin })).json(), { deleted: true })
  expectError(t, await gw.call('GET', '/v1/admin/webhooks/e2e', { token: admin }), 404, 'NOT_FOUND')
})

t.test('"Not you?": the link locks the second factor until support resets it', async (t) => {
  const username = uniqueUsername('notme')
  const token = await gw.login(username)
  await enrollTotp(token)
  // The user is told about the new factor (demo mode: the demo outbox); its link carries the token.
  await eventually('the notification', async () => {
    await notifier.dispatcher.runUntilIdle()
    return (await gw.redis.lrange(NOTIFIER_DEMO_OUTBOX_KEY, 0, -1)).some((m) => m.includes(`"to":"${username}"`))
  })
  const message = (await gw.redis.lrange(NOTIFIER_DEMO_OUTBOX_KEY, 0, -1)).map((m) => JSON.parse(m) as { to: string, text: string }).find((m) => m.to === username)
  t.match(message?.text, /^Warden: a new authenticator app was added to your account\. Not you\? http/)
  const token64 = /#not-me=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(message?.text ?? '')?.[1] ?? ''
  t.ok(token64.length > 40, 'the message carries a "Not you?" link')

  expectError(t, await gw.call('POST', '/v1/not-me', { body: { token: token64.slice(0, -2) + 'AA' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', '/v1/not-me', { body: { token: 'x' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', '/v1/not-me', { body: {} }), 400, 'BAD_REQUEST')
  t.equal((await gw.call('POST', '/v1/signin', { token })).json().status, 'challenge', 'not locked by bad links')

  const reported = await gw.call('POST', '/v1/not-me', { body: { token: token64 } })
  t.equal(reported.statusCode, 200)
  t.same(reported.json(), { reported: true, locked: true })
  expectError(t, await gw.call('POST', '/v1/signin', { token }), 403, 'FORBIDDEN')
  await eventually('the report in the feed', async () => (await gw.call('GET', '/v1/me/activity?types=user.reported', { token })).json().events.length === 1)

  const admin = await gw.login('admin')
  t.equal((await gw.call('POST', `/v1/admin/users/${username}/reset`, { token: admin })).statusCode, 202)
  t.not((await gw.call('POST', '/v1/signin', { token })).statusCode, 403, 'support\'s reset lifts the lock')

  clock.advance(8 * 86_400_000)
  expectError(t, await gw.call('POST', '/v1/not-me', { body: { token: token64 } }), 410, 'FLOW_EXPIRED')
})
