import { createHmac } from 'node:crypto'
import { uniqueUserId, verifyStandardWebhook } from '@warden/testkit'
import t from 'tap'
import { createDispatcher } from '../src/dispatcher.js'
import { addressPolicy } from '../src/address-policy.js'
import { createNotifierService, USER_FEED_TYPES, type ActivityEntry } from '../src/service.js'
import { eventId, fakeDeps } from './fakes.js'

const subject = (type: string) => `warden.events.v1.${type}`

function payload (userId: string, at: Date, extra: Record<string, unknown> = {}) {
  return { eventId: eventId(), occurredAt: at.toISOString(), userId, ...extra }
}

/** Every event type the feed lists, with what a publisher would put in it. */
const FEED_SAMPLES: Array<[string, Record<string, unknown>]> = [
  ['factor.enrolled', { factor: 'totp', itemId: 'totp_0000000000000001' }],
  ['factor.removed', { factor: 'sms', itemId: 'ph_00000000000000001' }],
  ['factor.locked', { factor: 'totp', lockedUntil: '2026-03-01T12:15:00.000Z' }],
  ['emergencycode.used', { itemId: 'rcv_0000000000000001', kind: 'emergency', mode: 'temporary', context: { clientId: 'demo-app', ip: '203.0.113.7', userAgent: 'Firefox/140' } }],
  ['recovery.regenerated', { reason: 'regenerated' }],
  ['user.reset', { reason: 'disabled' }],
  ['device.remembered', { deviceId: 'rd_1', context: { clientId: 'demo-app', ip: '2001:db8::1', userAgent: 'Safari' } }],
  ['push.denied', { notMe: true, deviceId: 'dev_1' }],
  ['network.seen', { context: { ip: '198.51.100.4' } }],
  ['user.reported', { reportedEventId: 'evt_0000000000000000000000' }],
]

t.test('handleEvent', async (t) => {
  t.test('stores the public view of every feed event, with its context', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const userId = uniqueUserId()
    const at = f.clock.now()
    for (const [i, [type, extra]] of FEED_SAMPLES.entries()) {
      await svc.handleEvent(subject(type), payload(userId, new Date(at.getTime() + i * 1000), extra))
    }
    const page = await svc.activity({ userId, limit: 100 })
    t.same(page.events.map((e) => e.type), FEED_SAMPLES.map(([type]) => type).reverse(), 'newest first, every type')
    const used = page.events.find((e) => e.type === 'emergencycode.used')
    t.same(used?.context, { clientId: 'demo-app', ip: '203.0.113.7', userAgent: 'Firefox/140' })
    t.same(used?.details, { itemId: 'rcv_0000000000000001', kind: 'emergency', mode: 'temporary' })
    t.same(page.events.find((e) => e.type === 'factor.removed')?.details, { factor: 'sms', itemId: 'ph_00000000000000001' })
  })

  t.test('copies fields by name: anything else in a payload never gets out', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const userId = uniqueUserId()
    await svc.putWebhook({ id: 'all', url: 'https://hooks.example.com/w', events: ['*'], enabled: true })
    await svc.handleEvent(subject('factor.enrolled'), payload(userId, f.clock.now(), {
      factor: 'sms', itemId: 'ph_00000000000000001', phone: '+4712345678', code: '123456', secret: 'JBSWY3DPEHPK3PXP', context: { ip: '203.0.113.1', token: 'eyJ...' },
    }))
    await createDispatcher({ outbox: f.outbox, deliver: svc.deliver, clock: f.clock, settings: { concurrencyPerTarget: 4, leaseMs: 60_000 }, onError: (err) => { throw err } }).runUntilIdle()
    const stored = JSON.stringify(f.activity.all)
    const delivered = f.http.sent.map((s) => s.body).join('') + JSON.stringify(f.users.sent)
    for (const secret of ['+4712345678', '123456', 'JBSWY3DPEHPK3PXP', 'eyJ', '"phone"', '"code"', '"secret"', '"token"']) {
      t.notOk(stored.includes(secret), `${secret} not stored`)
      t.notOk(delivered.includes(secret), `${secret} not delivered`)
    }
    t.equal(f.http.sent.length, 1)
  })

  t.test('a redelivered event is stored and queued once', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    await svc.putWebhook({ id: 'w1', url: 'https://hooks.example.com/w', events: ['factor.removed'], enabled: true })
    const userId = uniqueUserId()
    const p = payload(userId, f.clock.now(), { factor: 'totp' })
    await svc.handleEvent(subject('factor.removed'), p)
    await svc.handleEvent(subject('factor.removed'), p)
    t.equal(f.activity.all.length, 1)
    t.same([...f.outbox.queues.values()].map((q) => q.length), [1, 1], 'one for the webhook, one for the user')
  })

  t.test('queues for subscribed, enabled webhooks and, for high-risk events only, the user', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    await svc.putWebhook({ id: 'removals', url: 'https://a.example.com/', events: ['factor.removed'], enabled: true })
    await svc.putWebhook({ id: 'off', url: 'https://b.example.com/', events: ['*'], enabled: false })
    await svc.putWebhook({ id: 'all', url: 'https://c.example.com/', events: ['*'], enabled: true })
    const userId = uniqueUserId()
    await svc.handleEvent(subject('factor.removed'), payload(userId, f.clock.now(), { factor: 'totp' }))
    await svc.handleEvent(subject('network.seen'), payload(userId, f.clock.now()))
    t.same((await f.outbox.targets()).sort(), ['user', 'webhook:all', 'webhook:removals'])
    t.same(f.outbox.queues.get(`webhook:all\u0000${userId}`)?.map((i) => i.event.type), ['factor.removed', 'network.seen'])
    t.same(f.outbox.queues.get(`user\u0000${userId}`)?.map((i) => i.event.type), ['factor.removed'])
  })
})

t.test('activity and audit', async (t) => {
  async function seeded (n: number) {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const userId = uniqueUserId()
    const start = f.clock.now().getTime()
    for (let i = 0; i < n; i++) {
      // Two events per second: equal times are ordered by id, so pages still never overlap.
      const at = new Date(start + Math.floor(i / 2) * 1000)
      const type = i % 3 === 0 ? 'verification.rejected' : i % 3 === 1 ? 'factor.enrolled' : 'network.seen'
      await svc.handleEvent(subject(type), payload(userId, at, type === 'verification.rejected' ? { factor: 'totp', reason: 'invalid_code' } : type === 'factor.enrolled' ? { factor: 'totp' } : {}))
    }
    return { f, svc, userId, start }
  }

  t.test('pages walk every event once, newest first, and end', async (t) => {
    const { svc, userId } = await seeded(25)
    const seen: ActivityEntry[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await svc.audit({ userId, limit: 4, ...(cursor === undefined ? {} : { cursor }) })
      seen.push(...page.events)
      cursor = page.nextCursor
      pages++
    } while (cursor !== undefined)
    t.equal(pages, 7)
    t.equal(seen.length, 25)
    t.equal(new Set(seen.map((e) => e.eventId)).size, 25, 'no event twice')
    const order = seen.map((e) => [Date.parse(e.occurredAt), e.eventId] as const)
    t.ok(order.every((x, i) => i === 0 || x[0] < (order[i - 1]?.[0] ?? 0) || (x[0] === order[i - 1]?.[0] && x[1] < (order[i - 1]?.[1] ?? ''))), 'strictly newest first')
  })

  t.test("the user's feed leaves out audit-only events; the audit shows them with their reasons", async (t) => {
    const { svc, userId } = await seeded(9)
    const feed = await svc.activity({ userId, limit: 100 })
    t.equal(feed.events.length, 6)
    t.ok(feed.events.every((e) => USER_FEED_TYPES.has(e.type)))
    const onlyRejected = await svc.activity({ userId, types: ['verification.rejected'] })
    t.same(onlyRejected.events, [], 'asking for an audit-only type shows nothing')
    const audit = await svc.audit({ userId, types: ['verification.rejected'] })
    t.equal(audit.events.length, 3)
    t.same(audit.events[0]?.details, { factor: 'totp', reason: 'invalid_code' })
  })

  t.test('filters by type and time', async (t) => {
    const { svc, userId, start } = await seeded(12)
    const at = (s: number) => new Date(start + s * 1000).toISOString()
    const window = await svc.audit({ userId, since: at(2), until: at(4) })
    t.equal(window.events.length, 4, 'since inclusive, until exclusive')
    t.ok(window.events.every((e) => e.occurredAt >= at(2) && e.occurredAt < at(4)))
    const enrolled = await svc.audit({ userId, types: ['factor.enrolled'] })
    t.equal(enrolled.events.length, 4)
    t.same(await svc.audit({ userId: uniqueUserId() }), { events: [] }, 'another user sees nothing')
  })

  t.test('malformed queries are BAD_REQUEST', async (t) => {
    const { svc, userId } = await seeded(3)
    for (const [what, req] of [
      ['limit 0', { userId, limit: 0 }], ['limit 101', { userId, limit: 101 }], ['limit 1.5', { userId, limit: 1.5 }],
      ['unknown type', { userId, types: ['factor.exploded'] }], ['bad since', { userId, since: 'yesterday' }],
      ['bad until', { userId, until: '2026-13-45T99:00:00Z' }], ['garbage cursor', { userId, cursor: 'not-a-cursor' }],
      ['forged cursor', { userId, cursor: Buffer.from('["x","y"]').toString('base64url') }],
      ['cursor of another shape', { userId, cursor: Buffer.from('{"a":1}').toString('base64url') }],
    ] as const) {
      await t.rejects(svc.audit(req), { code: 'BAD_REQUEST' }, what)
    }
  })
})

t.test('webhooks', async (t) => {
  t.test('the secret is answered on create and on rotation only; GET never shows it', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const created = await svc.putWebhook({ id: 'siem', url: 'https://siem.example.com/in', events: ['factor.removed', 'factor.removed'], enabled: true })
    t.match(created, { created: true, secret: /^whsec_[A-Za-z0-9+/]{32}$/, webhook: { id: 'siem', events: ['factor.removed'], enabled: true } })
    const updated = await svc.putWebhook({ id: 'siem', url: 'https://siem.example.com/v2', events: ['*'], enabled: false })
    t.equal(updated.created, false)
    t.equal(updated.secret, undefined)
    const rotated = await svc.putWebhook({ id: 'siem', url: 'https://siem.example.com/v2', events: ['*'], enabled: true, rotateSecret: true })
    t.match(rotated.secret, /^whsec_/)
    t.not(rotated.secret, created.secret)
    const got = await svc.getWebhook({ id: 'siem' })
    t.same(got.recentFailures, [])
    t.notOk(JSON.stringify(got).includes('whsec_'))
    t.notOk(JSON.stringify([...f.webhooks.map.values()]).includes(created.secret?.slice(6, 20) ?? 'x'), 'sealed at rest')
    t.equal(got.previousSecretRetiresAt, new Date(f.clock.now().getTime() + 24 * 3600_000).toISOString())
    t.same(await svc.deleteWebhook({ id: 'siem' }), { deleted: true })
    t.same(await svc.deleteWebhook({ id: 'siem' }), { deleted: false })
    await t.rejects(svc.getWebhook({ id: 'siem' }), { code: 'NOT_FOUND' })
    await t.rejects(svc.getWebhook({ id: '../etc' }), { code: 'NOT_FOUND' })
  })

  t.test('bad definitions are BAD_REQUEST and store nothing', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const ok = { id: 'w', url: 'https://hooks.example.com/', events: ['*'], enabled: true }
    for (const [what, req] of [
      ['bad id', { ...ok, id: 'a b' }], ['long id', { ...ok, id: 'x'.repeat(65) }],
      ['http in production', { ...ok, url: 'http://hooks.example.com/' }], ['not a URL', { ...ok, url: 'hooks' }],
      ['ftp', { ...ok, url: 'ftp://hooks.example.com/' }], ['credentials', { ...ok, url: 'https://u:p@hooks.example.com/' }],
      ['loopback', { ...ok, url: 'https://127.0.0.1/' }], ['localhost', { ...ok, url: 'https://localhost:8443/' }],
      ['private', { ...ok, url: 'https://10.1.2.3/' }], ['metadata', { ...ok, url: 'https://169.254.169.254/latest' }],
      ['mapped loopback', { ...ok, url: 'https://[::ffff:127.0.0.1]/' }], ['ipv6 unique local', { ...ok, url: 'https://[fd00::1]/' }],
      ['no events', { ...ok, events: [] }], ['unknown event', { ...ok, events: ['factor.exploded'] }],
    ] as const) {
      await t.rejects(svc.putWebhook(req), { code: 'BAD_REQUEST' }, what)
    }
    t.equal(f.webhooks.map.size, 0)
  })

  t.test('demo mode allows a loopback http receiver, still not a private network', async (t) => {
    const f = fakeDeps({ settings: { addressPolicy: addressPolicy({ demoMode: true }) } })
    const svc = createNotifierService(f.deps)
    t.match(await svc.putWebhook({ id: 'local', url: 'http://127.0.0.1:9999/hook', events: ['*'], enabled: true }), { created: true })
    await t.rejects(svc.putWebhook({ id: 'lan', url: 'http://192.168.1.10/hook', events: ['*'], enabled: true }), { code: 'BAD_REQUEST' })
    const allowed = fakeDeps({ settings: { addressPolicy: addressPolicy({ demoMode: false, allowedNetworks: '10.20.0.0/16' }) } })
    t.match(await createNotifierService(allowed.deps).putWebhook({ id: 'siem', url: 'https://10.20.3.4/in', events: ['*'], enabled: true }), { created: true }, 'a network allowed by config')
  })

  t.test('a lost compare-and-set is CONFLICT', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const req = { id: 'race', url: 'https://hooks.example.com/', events: ['*'], enabled: true }
    const results = await Promise.allSettled([svc.putWebhook(req), svc.putWebhook(req)])
    t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
    t.match(results.find((r) => r.status === 'rejected'), { reason: { code: 'CONFLICT' } })
  })
})

t.test('delivery', async (t) => {
  const dispatcherOf = (f: ReturnType<typeof fakeDeps>, svc: ReturnType<typeof createNotifierService>) =>
    createDispatcher({ outbox: f.outbox, deliver: svc.deliver, clock: f.clock, settings: { concurrencyPerTarget: 4, leaseMs: 60_000 }, onError: (err) => { throw err } })

  t.test('a Standard Webhooks POST: id = event id, fresh timestamp, valid signature, the public view as data', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const { secret = '' } = await svc.putWebhook({ id: 'w', url: 'https://hooks.example.com/in', events: ['*'], enabled: true })
    const userId = uniqueUserId()
    const p = payload(userId, f.clock.now(), { factor: 'webauthn', itemId: 'cred_1', context: { clientId: 'demo-app', ip: '203.0.113.9', userAgent: 'UA' } })
    await svc.handleEvent(subject('factor.enrolled'), p)
    f.clock.advance(1500)
    await dispatcherOf(f, svc).runUntilIdle()
    const [sent] = f.http.sent
    t.equal(sent?.url, 'https://hooks.example.com/in')
    t.equal(sent?.headers['webhook-id'], p.eventId)
    t.equal(sent?.headers['webhook-timestamp'], String(Math.floor(f.clock.now().getTime() / 1000)))
    t.equal(sent?.headers['content-type'], 'application/json')
    t.ok(verifyStandardWebhook(secret, sent?.headers ?? {}, sent?.body ?? '', { now: f.clock.now() }))
    t.same(JSON.parse(sent?.body ?? '{}'), {
      type: 'factor.enrolled', timestamp: p.occurredAt,
      data: { eventId: p.eventId, type: 'factor.enrolled', occurredAt: p.occurredAt, userId, details: { factor: 'webauthn', itemId: 'cred_1' }, context: { clientId: 'demo-app', ip: '203.0.113.9', userAgent: 'UA' } },
    })
  })

  t.test('during a rotation both secrets verify; after the overlap only the new one', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const old = (await svc.putWebhook({ id: 'w', url: 'https://hooks.example.com/in', events: ['*'], enabled: true })).secret ?? ''
    const fresh = (await svc.putWebhook({ id: 'w', url: 'https://hooks.example.com/in', events: ['*'], enabled: true, rotateSecret: true })).secret ?? ''
    const userId = uniqueUserId()
    const d = dispatcherOf(f, svc)
    await svc.handleEvent(subject('network.seen'), payload(userId, f.clock.now()))
    await d.runUntilIdle()
    const during = f.http.sent[0]
    t.equal(during?.headers['webhook-signature']?.split(' ').length, 2)
    t.ok(verifyStandardWebhook(old, during?.headers ?? {}, during?.body ?? '', { now: f.clock.now() }), 'old secret')
    t.ok(verifyStandardWebhook(fresh, during?.headers ?? {}, during?.body ?? '', { now: f.clock.now() }), 'new secret')
    f.clock.advance(24 * 3600_000)
    await svc.handleEvent(subject('network.seen'), payload(userId, f.clock.now()))
    await d.runUntilIdle()
    const after = f.http.sent[1]
    t.equal(after?.headers['webhook-signature']?.split(' ').length, 1)
    t.notOk(verifyStandardWebhook(old, after?.headers ?? {}, after?.body ?? '', { now: f.clock.now() }))
    t.ok(verifyStandardWebhook(fresh, after?.headers ?? {}, after?.body ?? '', { now: f.clock.now() }))
    t.equal((await svc.getWebhook({ id: 'w' })).previousSecretRetiresAt, undefined)
  })

  t.test('failures retry with exponential backoff, in order, then succeed once', async (t) => {
    let up = false
    const f = fakeDeps({ answer: () => up ? { ok: true, status: 204 } : { ok: false, status: 503, error: 'HTTP 503' } })
    const svc = createNotifierService(f.deps)
    await svc.putWebhook({ id: 'w', url: 'https://hooks.example.com/in', events: ['*'], enabled: true })
    const userId = uniqueUserId()
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const p = payload(userId, f.clock.now())
      ids.push(p.eventId)
      await svc.handleEvent(subject('network.seen'), p)
    }
    const d = dispatcherOf(f, svc)
    const waits = [5, 20, 80, 320, 1280].map((s) => s * 1000)
    t.equal(await d.runOnce(), 1, 'first attempt')
    for (const w of waits) {
      f.clock.advance(w - 1)
      t.equal(await d.runOnce(), 0, `not before ${w / 1000} s`)
      f.clock.advance(1)
      t.equal(await d.runOnce(), 1, `retry after ${w / 1000} s`)
    }
    t.ok(f.http.sent.every((s) => s.headers['webhook-id'] === ids[0]), 'the head blocks its successors')
    t.equal(f.outbox.queues.get(`webhook:w\u0000${userId}`)?.[0]?.attempts, 6)
    t.equal(f.outbox.queues.get(`webhook:w\u0000${userId}`)?.[0]?.lastError, 'HTTP 503')
    up = true
    f.clock.advance(5120_000)
    await d.runUntilIdle()
    t.same(f.http.sent.slice(6).map((s) => s.headers['webhook-id']), ids, 'then each once, in order')
    t.same(f.failures.all, [])
  })

  t.test('the backoff stops growing at its cap', async (t) => {
    const f = fakeDeps({ answer: () => ({ ok: false, error: 'timeout' }) })
    const svc = createNotifierService(f.deps)
    await svc.putWebhook({ id: 'w', url: 'https://hooks.example.com/in', events: ['*'], enabled: true })
    await svc.handleEvent(subject('network.seen'), payload(uniqueUserId(), f.clock.now()))
    const d = dispatcherOf(f, svc)
    await d.runOnce()
    for (const w of [5, 20, 80, 320, 1280, 5120, 14_400, 14_400]) { f.clock.advance(w * 1000); t.equal(await d.runOnce(), 1, `after ${w} s`) }
  })

  t.test('after the retry period the delivery is recorded as failed and the next one goes', async (t) => {
    let up = false
    const f = fakeDeps({ answer: () => up ? { ok: true, status: 200 } : { ok: false, error: 'connection refused' } })
    const svc = createNotifierService(f.deps)
    await svc.putWebhook({ id: 'w', url: 'https://hooks.example.com/in', events: ['*'], enabled: true })
    const userId = uniqueUserId()
    const first = payload(userId, f.clock.now())
    await svc.handleEvent(subject('network.seen'), first)
    const d = dispatcherOf(f, svc)
    let attempts = 0
    const deadline = f.clock.now().getTime() + 26 * 3600_000
    while (f.failures.all.length === 0) {
      attempts += await d.runOnce()
      f.clock.advance(60_000)
      if (f.clock.now().getTime() === deadline - 3600_000) {
        const second = payload(userId, f.clock.now())
        await svc.handleEvent(subject('network.seen'), second)
      }
    }
    t.ok(f.clock.now().getTime() >= deadline, 'retried for the whole period (26 h)')
    t.ok(attempts >= 10 && attempts < 20, `a dozen attempts, not thousands (${attempts})`)
    t.match(f.failures.all, [{ target: 'webhook:w', eventId: first.eventId, userId, type: 'network.seen', lastError: 'connection refused', attempts }])
    t.match((await svc.getWebhook({ id: 'w' })).recentFailures, [{ eventId: first.eventId }])
    up = true
    f.clock.advance(3600_000)
    await d.runUntilIdle()
    t.equal(f.http.sent.at(-1)?.headers['webhook-id'] !== first.eventId, true, 'the next event is delivered')
  })

  t.test('a receiver that is slow for one user does not hold another user, nor another webhook', async (t) => {
    const gates: Array<() => void> = []
    const f = fakeDeps({ answer: async (req) => {
      if (req.url.includes('slow')) await new Promise<void>((resolve) => gates.push(resolve))
      return { ok: true, status: 200 }
    } })
    const svc = createNotifierService(f.deps)
    await svc.putWebhook({ id: 'slow', url: 'https://slow.example.com/', events: ['*'], enabled: true })
    await svc.putWebhook({ id: 'fast', url: 'https://fast.example.com/', events: ['*'], enabled: true })
    const users = [uniqueUserId(), uniqueUserId(), uniqueUserId(), uniqueUserId(), uniqueUserId(), uniqueUserId()]
    for (const u of users) await svc.handleEvent(subject('network.seen'), payload(u, f.clock.now()))
    const d = createDispatcher({ outbox: f.outbox, deliver: svc.deliver, clock: f.clock, settings: { concurrencyPerTarget: 2, leaseMs: 60_000 }, onError: (err) => { throw err } })
    d.start(5)
    // The fast webhook drains while the slow one holds its two slots.
    for (let i = 0; i < 200 && f.http.sent.filter((s) => s.url.includes('fast')).length < users.length; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    t.equal(f.http.sent.filter((s) => s.url.includes('fast')).length, users.length)
    t.equal(f.http.sent.filter((s) => s.url.includes('slow')).length, 2, 'the slow endpoint has only its concurrency in flight')
    while (gates.length > 0 || f.http.sent.filter((s) => s.url.includes('slow')).length < users.length) {
      gates.shift()?.()
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await d.stop()
    t.equal(f.http.sent.length, users.length * 2)
  })

  t.test('a deleted or disabled webhook gets nothing more', async (t) => {
    const f = fakeDeps({ answer: () => ({ ok: false, error: 'HTTP 500' }) })
    const svc = createNotifierService(f.deps)
    await svc.putWebhook({ id: 'gone', url: 'https://a.example.com/', events: ['*'], enabled: true })
    await svc.putWebhook({ id: 'off', url: 'https://b.example.com/', events: ['*'], enabled: true })
    const userId = uniqueUserId()
    await svc.handleEvent(subject('network.seen'), payload(userId, f.clock.now()))
    const d = dispatcherOf(f, svc)
    await d.runOnce()
    t.equal(f.http.sent.length, 2)
    await svc.deleteWebhook({ id: 'gone' })
    await svc.putWebhook({ id: 'off', url: 'https://b.example.com/', events: ['*'], enabled: false })
    f.clock.advance(3600_000)
    t.equal(await d.runUntilIdle(), 1, 'the disabled one is claimed once and dropped')
    t.equal(f.http.sent.length, 2)
    t.same(await f.outbox.targets(), [])
  })
})

t.test('user notifications', async (t) => {
  const run = (f: ReturnType<typeof fakeDeps>, svc: ReturnType<typeof createNotifierService>) =>
    createDispatcher({ outbox: f.outbox, deliver: svc.deliver, clock: f.clock, settings: { concurrencyPerTarget: 4, leaseMs: 60_000 }, onError: (err) => { throw err } }).runUntilIdle()

  t.test('push to paired devices first, SMS only without one, each with a "Not you?" link', async (t) => {
    const pushUser = uniqueUserId()
    const smsUser = uniqueUserId()
    const nobody = uniqueUserId()
    const users = (await import('./fakes.js')).recordingNotifier({ devices: { [pushUser]: 2 }, phones: { [pushUser]: 1, [smsUser]: 1 } })
    const f = fakeDeps({ notifier: users })
    const svc = createNotifierService(f.deps)
    await svc.handleEvent(subject('factor.removed'), payload(pushUser, f.clock.now(), { factor: 'totp' }))
    await svc.handleEvent(subject('factor.removed'), payload(smsUser, f.clock.now(), { factor: 'totp' }))
    await svc.handleEvent(subject('factor.removed'), payload(nobody, f.clock.now(), { factor: 'totp' }))
    await run(f, svc)
    t.same(users.sent.map((s) => [s.channel, s.message.userId]), [['push', pushUser], ['sms', smsUser]])
    t.equal(users.sent[1]?.message.text, 'Warden: your authenticator app was removed. Not you?')
    t.match(users.sent[1]?.message.notYouUrl, /^https:\/\/warden\.example\/ui\/#not-me=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
    t.same(await f.outbox.targets(), [], 'nothing left queued, also for the user nobody can reach')
  })

  t.test('only the high-risk events, with wording per event', async (t) => {
    const userId = uniqueUserId()
    const users = (await import('./fakes.js')).recordingNotifier({ phones: { [userId]: 1 } })
    const f = fakeDeps({ notifier: users })
    const svc = createNotifierService(f.deps)
    for (const [type, extra] of [
      ['factor.enrolled', { factor: 'webauthn' }], ['factor.removed', { factor: 'sms' }], ['emergencycode.used', { kind: 'emergency', mode: 'temporary' }], ['emergencycode.used', { kind: 'support', mode: 'permanent' }],
      ['recovery.regenerated', { reason: 'regenerated' }], ['recovery.regenerated', { reason: 'temporary_loss' }],
      ['user.reset', { reason: 'disabled' }], ['user.reset', { reason: 'admin' }],
      ['factor.locked', { factor: 'totp', lockedUntil: '2026-03-01T13:00:00.000Z' }], ['network.seen', {}], ['verification.rejected', { factor: 'totp', reason: 'invalid_code' }],
    ] as const) {
      f.clock.advance(1000)
      await svc.handleEvent(subject(type), payload(userId, f.clock.now(), extra))
    }
    await run(f, svc)
    t.same(users.sent.map((s) => s.message.text.replace(/ Not you\?$/, '')), [
      'Warden: a new security key was added to your account.',
      'Warden: your phone number was removed.',
      'Warden: your emergency code was used to sign in.',
      'Warden: a support code was used to sign in to your account.',
      'Warden: a new emergency code was made for your account; the previous one no longer works.',
      'Warden: two-step verification was turned off for your account.',
      'Warden: two-step verification was reset for your account.',
    ])
  })

  t.test('a failing provider is retried, like a webhook', async (t) => {
    let down = true
    const userId = uniqueUserId()
    const users = (await import('./fakes.js')).recordingNotifier({ phones: { [userId]: 1 }, fail: () => down })
    const f = fakeDeps({ notifier: users })
    const svc = createNotifierService(f.deps)
    await svc.handleEvent(subject('emergencycode.used'), payload(userId, f.clock.now(), { kind: 'emergency', mode: 'permanent' }))
    await run(f, svc)
    t.equal(users.sent.length, 0)
    down = false
    f.clock.advance(5_000)
    await run(f, svc)
    t.equal(users.sent.length, 1)
  })
})

t.test('"Not you?"', async (t) => {
  async function linkFor (f: ReturnType<typeof fakeDeps>, userId: string) {
    const reported = payload(userId, f.clock.now(), { factor: 'totp' })
    const token = new URL(f.links.url({ userId, eventId: reported.eventId, expiresAt: new Date(f.clock.now().getTime() + 3600_000) })).hash.slice('#not-me='.length)
    return { token, reported }
  }

  t.test('a valid link files one report and names the user to lock', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const userId = uniqueUserId()
    const { token, reported } = await linkFor(f, userId)
    t.same(await svc.reportNotMe({ token }), { result: 'reported', reportedEventId: reported.eventId, userId })
    t.same(await svc.reportNotMe({ token }), { result: 'reported', reportedEventId: reported.eventId, userId }, 'again: same answer')
    t.equal(new Set(f.reports.map((r) => r.eventId)).size, 1, 'the same report event id both times')
  })

  t.test('tampered, foreign and expired links report nothing', async (t) => {
    const f = fakeDeps()
    const svc = createNotifierService(f.deps)
    const userId = uniqueUserId()
    const { token } = await linkFor(f, userId)
    const [body = '', mac = ''] = token.split('.')
    const otherUser = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), u: 'usr_victim' })).toString('base64url')
    const foreign = createHmac('sha256', 'another key of at least thirty-two bytes').update(`warden.not-me.v1.${otherUser}`).digest('base64url')
    for (const [what, bad] of [
      ['another user', `${otherUser}.${mac}`], ['resigned with another key', `${otherUser}.${foreign}`], ['no mac', body],
      ['empty', ''], ['three parts', `${token}.x`], ['huge', 'a'.repeat(5000)], ['mac changed', `${body}.${mac.slice(0, 10)}${mac[10] === 'A' ? 'B' : 'A'}${mac.slice(11)}`],
      ['mac in a non-canonical spelling', `${body}.${mac.slice(0, -1)}${String.fromCharCode(mac.charCodeAt(42) ^ 1)}`],
    ] as const) {
      await t.rejects(svc.reportNotMe({ token: bad }), { code: 'BAD_REQUEST' }, what)
    }
    f.clock.advance(3600_000)
    await t.rejects(svc.reportNotMe({ token }), { code: 'FLOW_EXPIRED' }, 'expired')
    t.same(f.reports, [])
  })
})

t.test('activity retention', async (t) => {
  t.test('past ACTIVITY_RETENTION_DAYS an event leaves the feed and the audit query, and the sweep deletes it', async (t) => {
    const f = fakeDeps({ settings: { activityRetentionMs: 400 * 86_400_000 } })
    const svc = createNotifierService(f.deps)
    const userId = uniqueUserId()
    const first = payload(userId, f.clock.now(), { factor: 'totp' })
    await svc.handleEvent(subject('factor.enrolled'), first)
    f.clock.advance(200 * 86_400_000)
    const second = payload(userId, f.clock.now(), { factor: 'sms' })
    await svc.handleEvent(subject('factor.enrolled'), second)
    t.equal((await svc.activity({ userId })).events.length, 2)
    t.equal(await svc.pruneActivity(), 0, 'nothing is old yet')

    f.clock.advance(200 * 86_400_000 + 1)
    t.same((await svc.activity({ userId })).events.map((e) => e.eventId), [second.eventId], 'the first is past the retention: not shown')
    t.same((await svc.audit({ userId, since: '2020-01-01T00:00:00.000Z' })).events.map((e) => e.eventId), [second.eventId], 'not even when asked for')
    t.equal(f.activity.all.length, 2, 'still stored until the sweep')
    t.equal(await svc.pruneActivity(), 1)
    t.same(f.activity.all.map((e) => e.eventId), [second.eventId], 'the sweep deleted it')
  })
})
