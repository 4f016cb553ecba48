import { connect } from '@nats-io/transport-node'
import { connectRedis, generateKeyRingSpec, parseKeyRing } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { startInfra, uniqueUserId, startWebhookReceiver } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import type { LookupAddress } from 'node:dns'
import t from 'tap'
import { addressPolicy, parseNetworks, refuseAddress, refuseUrl } from '../src/address-policy.js'
import { createHmacReportLinks } from '../src/adapters/hmac-report-links.js'
import { createHttpWebhookSender } from '../src/adapters/http-webhook-sender.js'
import { createKeyRingCipher } from '../src/adapters/key-ring-cipher.js'
import { createRedisOutbox } from '../src/adapters/redis-outbox.js'
import { ACTIVITY_BUCKET, createStoreActivityStore } from '../src/adapters/store-activity-store.js'
import { createStoreFailureLog, FAILURE_BUCKET } from '../src/adapters/store-failure-log.js'
import { createStoreWebhookStore, WEBHOOK_BUCKET } from '../src/adapters/store-webhook-store.js'
import { loadNotifierConfig } from '../src/config.js'
import type { DeliveryFailure, SecurityEvent, Webhook } from '../src/ports.js'
import { eventId } from './fakes.js'

const event = (userId: string, at: Date, type = 'network.seen'): SecurityEvent =>
  ({ eventId: eventId(), type, occurredAt: at.toISOString(), userId, details: {}, context: {} })

t.test('address policy', async (t) => {
  const prod = addressPolicy({ demoMode: false })
  const demo = addressPolicy({ demoMode: true })
  for (const a of ['127.0.0.1', '127.8.9.10', '::1', '10.0.0.1', '172.16.5.4', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::', 'fe80::1', 'fd12::1', 'ff02::1', '::ffff:10.0.0.1', '::ffff:a00:1', '::ffff:7f00:1', '64:ff9b::a00:1', '224.0.0.1', '255.255.255.255']) {
    t.ok(refuseAddress(a, prod), `${a} refused in production`)
  }
  for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700::1111', '172.32.0.1', '::ffff:8.8.8.8']) t.equal(refuseAddress(a, prod), undefined, `${a} is public`)
  t.equal(refuseAddress('127.0.0.1', demo), undefined, 'demo: loopback')
  t.equal(refuseAddress('::ffff:127.0.0.1', demo), undefined, 'demo: mapped loopback')
  t.ok(refuseAddress('10.0.0.1', demo), 'demo: still no private network')
  const allowed = addressPolicy({ demoMode: false, allowedNetworks: '10.1.0.0/16, fd00::/8,192.168.7.7' })
  t.equal(refuseAddress('10.1.2.3', allowed), undefined)
  t.ok(refuseAddress('10.2.0.1', allowed))
  t.equal(refuseAddress('fd00::5', allowed), undefined)
  t.equal(refuseAddress('192.168.7.7', allowed), undefined)
  t.ok(refuseAddress('192.168.7.8', allowed))
  for (const bad of ['10.0.0.0/33', 'nonsense', '10.0.0.0/x', 'fd00::/129']) t.throws(() => parseNetworks(bad), bad)
  t.equal(refuseUrl('https://hooks.example.com/a?b=c', prod), undefined)
  t.equal(refuseUrl('http://hooks.example.com/', prod), 'https is required')
  t.equal(refuseUrl('http://hooks.example.com/', demo), undefined)
  t.ok(refuseUrl('https://[::1]:8443/', prod))
  t.ok(refuseUrl('https://app.localhost/', prod))
  t.ok(refuseUrl('https://0x7f000001/', prod), 'WHATWG URL parsing turns 0x7f000001 into 127.0.0.1')
  t.ok(refuseUrl('https://2130706433/', prod), 'and 2130706433 too')
})

t.test('HTTP webhook sender (real sockets)', async (t) => {
  const receiver = await startWebhookReceiver(t)
  const demo = addressPolicy({ demoMode: true })
  const headers = { 'webhook-id': 'evt_x', 'content-type': 'application/json' }

  t.test('posts the body with the headers; 2xx is ok, anything else a safe error', async (t) => {
    const sender = createHttpWebhookSender({ policy: demo, timeoutMs: 2_000 })
    t.same(await sender.post({ url: receiver.url, headers, body: '{"a":1}' }), { ok: true, status: 200 })
    const got = receiver.requests.at(-1)
    t.equal(got?.body, '{"a":1}')
    t.equal(got?.headers['webhook-id'], 'evt_x')
    receiver.respondWith(500)
    t.same(await sender.post({ url: receiver.url, headers, body: '{}' }), { ok: false, status: 500, error: 'HTTP 500' })
    receiver.respondWith(302)
    t.match(await sender.post({ url: receiver.url, headers, body: '{}' }), { ok: false, status: 302, error: /redirects are not followed/ })
    receiver.respondWith(200)
  })

  t.test('a slow receiver is a timeout; a closed port is refused', async (t) => {
    const sender = createHttpWebhookSender({ policy: demo, timeoutMs: 300 })
    receiver.delayBy(1_000)
    t.same(await sender.post({ url: receiver.url, headers, body: '{}' }), { ok: false, error: 'timeout' })
    receiver.delayBy(0)
    await receiver.stop()
    t.same(await sender.post({ url: receiver.url, headers, body: '{}' }), { ok: false, error: 'connection refused' })
    await receiver.start()
  })

  t.test('SSRF: the addresses a name resolves to are checked, and only they are connected to', async (t) => {
    const prod = addressPolicy({ demoMode: false })
    const dns: Record<string, LookupAddress[]> = {
      'internal.example.com': [{ address: '10.0.0.7', family: 4 }],
      'metadata.example.com': [{ address: '169.254.169.254', family: 4 }],
      'mixed.example.com': [{ address: '93.184.215.14', family: 4 }, { address: '127.0.0.1', family: 4 }],
      'rebind.example.com': [{ address: '::1', family: 6 }],
      'local.example.com': [{ address: '127.0.0.1', family: 4 }],
    }
    const resolve = async (host: string): Promise<LookupAddress[]> => dns[host] ?? []
    const sender = createHttpWebhookSender({ policy: prod, timeoutMs: 1_000, resolve })
    const before = receiver.requests.length
    for (const host of ['internal', 'metadata', 'mixed', 'rebind', 'local']) {
      t.match(await sender.post({ url: `https://${host}.example.com/hook`, headers, body: '{}' }), { ok: false, error: /^refused: / }, host)
    }
    t.match(await sender.post({ url: 'https://127.0.0.1/hook', headers, body: '{}' }), { ok: false, error: 'refused: loopback address refused' }, 'an IP literal')
    t.match(await sender.post({ url: receiver.url, headers, body: '{}' }), { ok: false, error: 'refused: https is required' }, 'http in production')
    t.same(await sender.post({ url: 'https://nowhere.example.com/', headers, body: '{}' }), { ok: false, error: 'name not resolved' })
    // Demo mode: a name that resolves to loopback reaches the local receiver, through the checked address.
    const demoSender = createHttpWebhookSender({ policy: demo, timeoutMs: 1_000, resolve })
    const port = new URL(receiver.url).port
    t.same(await demoSender.post({ url: `http://local.example.com:${port}/hook`, headers, body: '{"via":"name"}' }), { ok: true, status: 200 })
    t.match(await demoSender.post({ url: `http://internal.example.com:${port}/hook`, headers, body: '{}' }), { ok: false, error: /^refused: private/ })
    t.equal(receiver.requests.length, before + 1, 'nothing refused ever reached a socket')
  })
})

t.test('Redis outbox', async (t) => {
  const infra = await startInfra(t)
  const redis = await connectRedis(infra.redis.url, 'notifier-test')
  t.teardown(() => redis.quit())
  const outbox = createRedisOutbox(redis, { prefix: `nt${randomBytes(3).toString('hex')}` })
  const now = new Date('2026-03-01T12:00:00.000Z')
  const later = (ms: number) => new Date(now.getTime() + ms)

  t.test('one event id is queued once, for all its targets at once', async (t) => {
    const userId = uniqueUserId()
    const e = event(userId, now)
    t.equal(await outbox.enqueue(e, ['webhook:a', 'user'], now), true)
    t.equal(await outbox.enqueue(e, ['webhook:a', 'user'], now), false, 'a redelivery adds nothing')
    t.same((await outbox.targets()).sort(), ['user', 'webhook:a'])
    const [a] = await outbox.claim('webhook:a', now, 10, later(60_000))
    t.same(a, { target: 'webhook:a', userId, item: { event: e, enqueuedAt: now.toISOString(), attempts: 0 } })
    await outbox.complete(a!, now)
    const [u] = await outbox.claim('user', now, 10, later(60_000))
    await outbox.complete(u!, now)
    t.same(await outbox.targets(), [], 'empty targets are forgotten')
  })

  t.test('FIFO per user, a leased head is not claimed twice, retry moves its due time', async (t) => {
    const userId = uniqueUserId()
    const other = uniqueUserId()
    const [e1, e2] = [event(userId, now), event(userId, now)]
    const e3 = event(other, now)
    for (const e of [e1, e2, e3]) await outbox.enqueue(e, ['webhook:fifo'], now)
    const first = await outbox.claim('webhook:fifo', now, 10, later(60_000))
    t.same(first.map((d) => d.item.event.eventId).sort(), [e1.eventId, e3.eventId].sort(), 'one head per user')
    t.same(await outbox.claim('webhook:fifo', now, 10, later(60_000)), [], 'leased heads are not handed out again')
    const d1 = first.find((d) => d.userId === userId)!
    await outbox.retry(d1, { ...d1.item, attempts: 1, lastError: 'HTTP 500' }, later(5_000))
    t.same(await outbox.claim('webhook:fifo', later(4_999), 10, later(70_000)), [])
    const again = await outbox.claim('webhook:fifo', later(5_000), 10, later(70_000))
    t.match(again, [{ userId, item: { event: { eventId: e1.eventId }, attempts: 1, lastError: 'HTTP 500' } }], 'the same head, updated')
    await outbox.complete(again[0]!, later(5_000))
    await outbox.complete(again[0]!, later(5_000))
    t.match(await outbox.claim('webhook:fifo', later(5_000), 10, later(70_000)), [{ item: { event: { eventId: e2.eventId } } }], 'a repeated complete pops nothing more')
    t.match(await outbox.claim('webhook:fifo', later(60_001), 10, later(120_000)), [{ userId: other }], 'an expired lease is claimed again (its dispatcher died)')
  })

  t.test('parallel claimers never get the same head', async (t) => {
    const users = Array.from({ length: 20 }, () => uniqueUserId())
    for (const u of users) await outbox.enqueue(event(u, now), ['webhook:race'], now)
    const claims = await Promise.all(Array.from({ length: 8 }, () => outbox.claim('webhook:race', now, 5, later(60_000))))
    const ids = claims.flat().map((d) => d.item.event.eventId)
    t.equal(ids.length, 20)
    t.equal(new Set(ids).size, 20)
  })

  t.test('purge drops every queue of a target', async (t) => {
    for (let i = 0; i < 3; i++) await outbox.enqueue(event(uniqueUserId(), now), ['webhook:gone', 'webhook:kept'], now)
    await outbox.purge('webhook:gone')
    t.same(await outbox.claim('webhook:gone', later(1e9), 10, later(2e9)), [])
    t.equal((await outbox.claim('webhook:kept', now, 10, later(60_000))).length, 3)
    t.notOk((await outbox.targets()).includes('webhook:gone'))
  })

  t.test('Redis away: UNAVAILABLE, never a silent loss', async (t) => {
    const down = await connectRedis(infra.redis.url, 'notifier-down')
    down.disconnect()
    await t.rejects(createRedisOutbox(down, { prefix: 'x' }).enqueue(event(uniqueUserId(), now), ['user'], now), { code: 'UNAVAILABLE' })
  })
})

t.test('store adapters on JetStream KV', async (t) => {
  const infra = await startInfra(t)
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(() => nc.drain())
  const kv = createKvStoreFactory(nc)

  t.test('activity: once per event id; newest first; filters; positions', async (t) => {
    const activity = createStoreActivityStore(await kv.open<SecurityEvent>(ACTIVITY_BUCKET))
    const userId = uniqueUserId()
    const base = Date.parse('2026-03-01T12:00:00.000Z')
    const events = Array.from({ length: 6 }, (_, i) => event(userId, new Date(base + i * 1000), i % 2 === 0 ? 'factor.enrolled' : 'network.seen'))
    for (const e of events) t.equal(await activity.record(e), true)
    t.equal(await activity.record(events[0]!), false, 'the same id again')
    await activity.record(event(uniqueUserId(), new Date(base)))
    const all = await activity.query({ userId, limit: 10 })
    t.same(all.map((e) => e.eventId), events.map((e) => e.eventId).reverse())
    t.same((await activity.query({ userId, limit: 2 })).map((e) => e.eventId), [events[5]!.eventId, events[4]!.eventId])
    t.same((await activity.query({ userId, limit: 10, types: ['network.seen'] })).length, 3)
    t.same((await activity.query({ userId, limit: 10, since: new Date(base + 2000).toISOString(), until: new Date(base + 4000).toISOString() })).map((e) => e.eventId), [events[3]!.eventId, events[2]!.eventId])
    t.same((await activity.query({ userId, limit: 10, after: { occurredAt: events[2]!.occurredAt, eventId: events[2]!.eventId } })).map((e) => e.eventId), [events[1]!.eventId, events[0]!.eventId])
  })

  t.test('activity: prune deletes what occurred before the cut-off, of every user', async (t) => {
    const activity = createStoreActivityStore(await kv.open<SecurityEvent>('notifier_activity_prune'))
    const [alice, bob] = [uniqueUserId(), uniqueUserId()]
    const cut = Date.parse('2026-03-01T00:00:00.000Z')
    const old = [event(alice, new Date(cut - 1)), event(bob, new Date(cut - 86_400_000))]
    const kept = [event(alice, new Date(cut)), event(bob, new Date(cut + 1000))]
    for (const e of [...old, ...kept]) await activity.record(e)
    t.equal(await activity.prune(new Date(cut)), 2)
    t.same((await activity.query({ userId: alice, limit: 10 })).map((e) => e.eventId), [kept[0]!.eventId])
    t.same((await activity.query({ userId: bob, limit: 10 })).map((e) => e.eventId), [kept[1]!.eventId])
    t.equal(await activity.prune(new Date(cut)), 0, 'nothing left to prune')
  })

  t.test('webhooks: compare-and-set, delete, list', async (t) => {
    const store = createStoreWebhookStore(await kv.open<Webhook>(WEBHOOK_BUCKET))
    const w: Webhook = { id: 'w1', url: 'https://a.example.com/', events: ['*'], enabled: true, secrets: [], createdAt: '2026-03-01T12:00:00.000Z', updatedAt: '2026-03-01T12:00:00.000Z' }
    t.equal(await store.save(w, undefined), true)
    t.equal(await store.save(w, undefined), false, 'create twice')
    const got = await store.get('w1')
    t.equal(await store.save({ ...w, enabled: false }, got!.revision), true)
    t.equal(await store.save({ ...w, enabled: true }, got!.revision), false, 'a stale revision loses')
    t.same((await store.list()).map((x) => [x.id, x.enabled]), [['w1', false]])
    t.equal(await store.delete('w1'), true)
    t.equal(await store.delete('w1'), false)
    t.equal(await store.get('w1'), undefined)
  })

  t.test('failure log: newest first, bounded per target', async (t) => {
    const log = createStoreFailureLog(await kv.open<DeliveryFailure>(FAILURE_BUCKET), { keep: 3 })
    const base = Date.parse('2026-03-02T00:00:00.000Z')
    for (let i = 0; i < 5; i++) {
      await log.record({ target: 'webhook:x', eventId: eventId(), userId: 'usr_1', type: 'network.seen', attempts: 12, enqueuedAt: new Date(base).toISOString(), failedAt: new Date(base + i * 1000).toISOString(), lastError: 'HTTP 500' })
    }
    const listed = await log.list('webhook:x', 10)
    t.equal(listed.length, 3)
    t.same(listed.map((f) => f.failedAt), [4, 3, 2].map((i) => new Date(base + i * 1000).toISOString()))
    t.same(await log.list('webhook:y', 10), [])
  })
})

t.test('report links and the secret cipher', async (t) => {
  const key = randomBytes(32)
  const links = createHmacReportLinks({ key, baseUrl: 'https://warden.example/' })
  const claims = { userId: 'usr_1', eventId: 'evt_0123456789abcdef', expiresAt: new Date('2026-03-08T12:00:00.000Z') }
  const url = new URL(links.url(claims))
  t.equal(`${url.origin}${url.pathname}`, 'https://warden.example/ui/', 'the hosted pages')
  t.match(url.hash, /^#not-me=/, 'the token is in the fragment, which is never sent to a server')
  t.same(links.open(url.hash.slice('#not-me='.length)), claims)
  t.equal(createHmacReportLinks({ key: randomBytes(32), baseUrl: 'https://warden.example' }).open(url.hash.slice('#not-me='.length)), undefined, 'another key')
  t.throws(() => createHmacReportLinks({ key: randomBytes(16), baseUrl: 'https://x' }))

  const cipher = createKeyRingCipher(parseKeyRing(generateKeyRingSpec('k1')))
  const sealed = cipher.seal('whsec_abc', 'w1')
  t.notOk(sealed.includes('whsec'))
  t.equal(cipher.open(sealed, 'w1'), 'whsec_abc')
  t.throws(() => cipher.open(sealed, 'w2'), 'bound to its webhook')
})

t.test('config: defaults from SECURITY.md, secrets required, names not values in errors', async (t) => {
  const ok = { SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64') }
  const c = loadNotifierConfig(ok)
  t.equal(c.WEBHOOK_RETRY_FOR_SEC, 26 * 3600)
  t.equal(c.DEMO_MODE, false)
  t.throws(() => loadNotifierConfig({ ...ok, WEBHOOK_RETRY_FOR_SEC: '3600' }), /WEBHOOK_RETRY_FOR_SEC/, 'retries last at least 24 h')
  t.throws(() => loadNotifierConfig({ SECRET_KEYS: ok.SECRET_KEYS }), /REPORT_LINK_KEY/)
  try { loadNotifierConfig({ ...ok, REPORT_LINK_KEY: 'short-secret-value' }) } catch (err) {
    t.notOk(String(err).includes('short-secret-value'))
  }
})
