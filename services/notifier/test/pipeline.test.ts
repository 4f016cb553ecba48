import { connect, type NatsConnection } from '@nats-io/transport-node'
import {
  deviceRemembered, factorEnrolled, factorLocked, factorRemoved, networkSeen, pushDenied, recoveryCodeUsed, recoveryRegenerated, userReset,
  verificationRejected, type EventType,
} from '@warden/contracts'
import { connectRedis, createEventPublisher, createKeyRing, createLogger, ensureEventStream } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { captureLog, manualClock, startInfra, uniqueUserId, type Infra, type Teardownable, startWebhookReceiver, verifyStandardWebhook, type ReceivedWebhook, type WebhookReceiver } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { addressPolicy } from '../src/address-policy.js'
import { createHmacReportLinks } from '../src/adapters/hmac-report-links.js'
import { createHttpWebhookSender } from '../src/adapters/http-webhook-sender.js'
import { consumeAllEvents, type EventSource } from '../src/adapters/jetstream-event-source.js'
import { createKeyRingCipher } from '../src/adapters/key-ring-cipher.js'
import { createPublisherEventSink } from '../src/adapters/publisher-event-sink.js'
import { createRedisOutbox } from '../src/adapters/redis-outbox.js'
import { ACTIVITY_BUCKET, createStoreActivityStore } from '../src/adapters/store-activity-store.js'
import { createStoreFailureLog, FAILURE_BUCKET } from '../src/adapters/store-failure-log.js'
import { createStoreWebhookStore, WEBHOOK_BUCKET } from '../src/adapters/store-webhook-store.js'
import { createDispatcher } from '../src/dispatcher.js'
import { KNOWN_EVENTS } from '../src/event-types.js'
import type { DeliveryFailure, SecurityEvent, Webhook } from '../src/ports.js'
import { createNotifierService, toSecurityEvent, USER_FEED_TYPES } from '../src/service.js'
import { DEFAULT_SETTINGS, recordingNotifier } from './fakes.js'

// The notifier's pieces wired as phase 2's app.ts will wire them, against real NATS (JetStream
// stream, durable consumer, KV buckets) and Redis (the outbox), delivering over real HTTP to a
// local receiver. Time is the manual clock; the only waiting is for messages to cross servers.

const CONTEXT = { clientId: 'demo-app', ip: '203.0.113.50', userAgent: 'Mozilla/5.0 (X11) Firefox/140.0' }

async function until (what: string, probe: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

type Handler = (subject: string, payload: Record<string, unknown>) => Promise<void>

async function startPipeline (t: Teardownable, infra: Infra, opts: { phones?: Record<string, number> } = {}) {
  const clock = manualClock(new Date())
  const log = captureLog()
  const nc: NatsConnection = await connect({ servers: infra.nats.url })
  const redis = await connectRedis(infra.redis.url, 'notifier-pipeline')
  await ensureEventStream(nc)
  const kv = createKvStoreFactory(nc)
  const users = recordingNotifier({ phones: opts.phones ?? {} })
  const publisher = createEventPublisher(nc, clock)
  const outbox = createRedisOutbox(redis, { prefix: `np${randomBytes(3).toString('hex')}` })
  const policy = addressPolicy({ demoMode: true })
  const activity = createStoreActivityStore(await kv.open<SecurityEvent>(ACTIVITY_BUCKET))
  const service = createNotifierService({
    activity,
    webhooks: createStoreWebhookStore(await kv.open<Webhook>(WEBHOOK_BUCKET)),
    failures: createStoreFailureLog(await kv.open<DeliveryFailure>(FAILURE_BUCKET)),
    outbox,
    sender: createHttpWebhookSender({ policy, timeoutMs: 1_000 }),
    notifier: users.notifier,
    links: createHmacReportLinks({ key: randomBytes(32), baseUrl: 'http://127.0.0.1:8080' }),
    events: createPublisherEventSink(publisher),
    cipher: createKeyRingCipher(createKeyRing(new Map([['k1', randomBytes(32)]]), 'k1')),
    clock,
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    settings: { ...DEFAULT_SETTINGS, addressPolicy: policy },
  })
  const errors: unknown[] = []
  const dispatcher = createDispatcher({ outbox, deliver: service.deliver, clock, settings: { concurrencyPerTarget: 4, leaseMs: 60_000 }, onError: (err) => { errors.push(err) } })
  const logger = createLogger({ name: 'notifier', level: 'info', destination: log.stream })
  const durable = `notifier-${randomBytes(4).toString('hex')}`
  const handled = new Set<string>()
  let hook: ((next: Handler) => Handler) | undefined
  const handle: Handler = (s, p) => service.handleEvent(s, p)
  const consume = (): Promise<EventSource> => consumeAllEvents(nc, { durable, known: KNOWN_EVENTS, log: logger, retryDelayMs: 50 }, async (subject, payload) => {
    await (hook === undefined ? handle : hook(handle))(subject, payload)
    handled.add(String(payload.eventId))
  })
  let source: EventSource | undefined = await consume()
  t.teardown(async () => {
    await source?.stop()
    await redis.quit()
    await nc.close()
  })
  return {
    clock, log, service, activity, users, publisher, dispatcher, errors,
    /** Waits until the consumer has handled every one of these event ids. */
    handledAll: (ids: readonly string[]) => until(`${ids.length} events handled`, () => ids.every((id) => handled.has(id))),
    /** Wraps the event handler (to make it fail the way a crash would). */
    wrap: (h: typeof hook) => { hook = h },
    stopConsumer: async () => { await source?.stop(); source = undefined },
    startConsumer: async () => { source = await consume() },
    publish: async <E extends EventType>(event: E, userId: string, body: Record<string, unknown> = {}): Promise<string> => {
      // Publishers stamp occurredAt with the clock: a tick apart keeps the order plain to read.
      clock.advance(1_000)
      return publisher.publish(event, { userId, ...body } as never)
    },
  }
}

/** What the receiver accepted for one user, in arrival order. */
function acceptedFor (receiver: WebhookReceiver, userId: string): Array<{ request: ReceivedWebhook, body: { type: string, timestamp: string, data: SecurityEvent } }> {
  return receiver.accepted().map((request) => ({ request, body: JSON.parse(request.body) as { type: string, timestamp: string, data: SecurityEvent } }))
    .filter((r) => r.body.data.userId === userId)
}

/** Every key a delivered body may have: nothing else can carry a secret out. */
const ALLOWED_KEYS = new Set(['type', 'timestamp', 'data', 'eventId', 'occurredAt', 'userId', 'details', 'context',
  'factor', 'itemId', 'kind', 'reason', 'mode', 'lockedUntil', 'deviceId', 'notMe', 'reportedEventId', 'clientId', 'ip', 'userAgent'])
function keysOf (v: unknown, out: string[] = []): string[] {
  if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) { out.push(k); keysOf(x, out) }
  return out
}

t.test('the notifier against real NATS, Redis and HTTP', async (t) => {
  const infra = await startInfra(t)
  const receiver = await startWebhookReceiver(t)
  const phones: Record<string, number> = {}
  const p = await startPipeline(t, infra, { phones })
  const { secret = '' } = await p.service.putWebhook({ id: 'platform', url: receiver.url, events: ['*'], enabled: true })

  t.test('every listed event reaches the feed, the audit query and the webhook, signed', async (t) => {
    const userId = uniqueUserId()
    const sent: Array<[string, string]> = []
    const publish = async (e: EventType, body: Record<string, unknown>) => { sent.push([e.subject.replace('warden.events.v1.', ''), await p.publish(e, userId, body)]) }
    await publish(factorEnrolled, { factor: 'totp', itemId: 'totp_0000000000000001' })
    await publish(factorRemoved, { factor: 'sms', itemId: 'ph_0000000000000001' })
    await publish(factorLocked, { factor: 'totp', lockedUntil: new Date(p.clock.now().getTime() + 900_000).toISOString() })
    await publish(recoveryCodeUsed, { itemId: 'rcv_0000000000000001', kind: 'emergency', mode: 'temporary' })
    await publish(recoveryRegenerated, { itemId: 'rcv_0000000000000002', reason: 'regenerated', context: CONTEXT })
    await publish(deviceRemembered, { deviceId: 'rd_1', context: CONTEXT })
    await publish(pushDenied, { notMe: true, deviceId: 'dev_1', context: CONTEXT })
    await publish(networkSeen, { context: CONTEXT })
    await publish(verificationRejected, { factor: 'totp', reason: 'replayed', context: CONTEXT })
    await publish(userReset, { reason: 'disabled' })
    await p.handledAll(sent.map(([, id]) => id))
    await p.dispatcher.runUntilIdle()

    const feed = await p.service.activity({ userId, limit: 100 })
    t.same(feed.events.map((e) => e.type), sent.map(([type]) => type).filter((type) => USER_FEED_TYPES.has(type)).reverse(), 'the feed: newest first, no audit-only type')
    t.same(feed.events.find((e) => e.type === 'network.seen')?.context, CONTEXT, 'time, application, IP and user agent')
    const audit = await p.service.audit({ userId, limit: 100 })
    t.same(audit.events.map((e) => e.eventId), sent.map(([, id]) => id).reverse(), 'the audit: every event')
    t.same(audit.events.find((e) => e.type === 'verification.rejected')?.details, { factor: 'totp', reason: 'replayed' }, 'rejections with their reason')

    const delivered = acceptedFor(receiver, userId)
    t.same(delivered.map((d) => d.request.headers['webhook-id']), sent.map(([, id]) => id), 'each once, in order')
    for (const d of delivered) {
      t.ok(verifyStandardWebhook(secret, d.request.headers, d.request.body, { now: p.clock.now() }), `${d.body.type}: valid signature`)
      t.same(keysOf(d.body).filter((k) => !ALLOWED_KEYS.has(k)), [], `${d.body.type}: only public fields`)
      t.notOk(d.request.body.includes(secret.slice(6)), 'not the signing secret either')
    }
    t.same(p.errors, [])
  })

  t.test('a receiver that is down, then up, gets every event once, in order per user', async (t) => {
    const [alice, bob] = [uniqueUserId(), uniqueUserId()]
    await receiver.stop()
    const ids: Record<string, string[]> = { [alice]: [], [bob]: [] }
    for (let i = 0; i < 4; i++) {
      for (const u of [alice, bob]) ids[u]?.push(await p.publish(networkSeen, u, { context: { ip: `198.51.100.${i}` } }))
    }
    await p.handledAll([...ids[alice] ?? [], ...ids[bob] ?? []])
    await p.dispatcher.runUntilIdle()
    for (const wait of [5, 20, 80]) {
      p.clock.advance(wait * 1000)
      t.equal(await p.dispatcher.runOnce(), 2, `after ${wait} s: one retry per user, the receiver still down`)
    }
    await receiver.start()
    p.clock.advance(320_000)
    await p.dispatcher.runUntilIdle()
    for (const u of [alice, bob]) {
      t.same(acceptedFor(receiver, u).map((d) => d.request.headers['webhook-id']), ids[u], 'every event once, in publish order')
    }
    t.same(p.errors, [])
  })

  t.test('a consumer restart mid-stream loses and duplicates nothing', async (t) => {
    const userId = uniqueUserId()
    let crashes = 0
    // 1st crash: the process dies after storing the activity, before queueing the webhook.
    // 2nd crash: it dies after queueing, before acknowledging. Both leave the message unacked.
    p.wrap((next) => async (subject, payload) => {
      const n = Number((payload.context as { ip?: string } | undefined)?.ip?.split('.').at(-1))
      if (n === 3 && crashes === 0) {
        crashes++
        await p.activity.record(toSecurityEvent(subject, payload))
        throw new Error('crash before the outbox')
      }
      await next(subject, payload)
      if (n === 6 && crashes === 1) { crashes++; throw new Error('crash before the ack') }
    })
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push(await p.publish(networkSeen, userId, { context: { ip: `192.0.2.${i}` } }))
    await until('the first crash', () => crashes === 1)
    await p.stopConsumer()
    for (let i = 6; i <= 10; i++) ids.push(await p.publish(networkSeen, userId, { context: { ip: `192.0.2.${i}` } }))
    await p.startConsumer()
    await p.handledAll(ids)
    t.equal(crashes, 2)
    await p.dispatcher.runUntilIdle()
    const audit = await p.service.audit({ userId, limit: 100 })
    t.same(audit.events.map((e) => e.eventId), [...ids].reverse(), 'every event stored once')
    t.same(acceptedFor(receiver, userId).map((d) => d.request.headers['webhook-id']), ids, 'every event delivered once, in order')
    p.wrap(undefined)
  })

  t.test('"Not you?": the link in the SMS files a report everyone sees', async (t) => {
    const userId = uniqueUserId()
    phones[userId] = 1
    const q = p
    const removed = await q.publish(factorRemoved, userId, { factor: 'totp', itemId: 'totp_0000000000000009' })
    await q.handledAll([removed])
    await q.dispatcher.runUntilIdle()
    const [sms] = q.users.sent
    t.equal(sms?.channel, 'sms')
    t.equal(sms?.message.text, 'Warden: your authenticator app was removed. Not you?')
    t.match(sms?.message.notYouUrl, /^http:\/\/127\.0\.0\.1:8080\/ui\/#not-me=/)
    const token = new URL(sms?.message.notYouUrl ?? '').hash.slice('#not-me='.length)
    q.clock.advance(60_000) // the user reads the SMS a minute later
    t.same(await q.service.reportNotMe({ token }), { result: 'reported', reportedEventId: removed, userId }, 'names the user the gateway locks')
    await until('the report in the audit trail', async () => (await q.service.audit({ userId, types: ['user.reported'] })).events.length === 1)
    t.match((await q.service.activity({ userId })).events[0], { type: 'user.reported', details: { reportedEventId: removed } }, 'the user sees it too')
    await q.service.reportNotMe({ token })
    await q.dispatcher.runUntilIdle()
    t.equal((await q.service.audit({ userId, types: ['user.reported'] })).events.length, 1, 'a second use files no second report')
  })
})
