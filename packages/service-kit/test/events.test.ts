import t from 'tap'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { EVENTS_STREAM, factorEnrolled, userReset } from '@warden/contracts'
import { manualClock, startNats, uniqueUserId } from '@warden/testkit'
import { connectNats, consumeEvents, createEventPublisher, createLogger, ensureEventStream } from '../src/index.js'

t.test('events on WARDEN_EVENTS, against a real nats-server', async (t) => {
  const nats = await startNats()
  const nc = await connectNats(nats.url, 'kit-test')
  t.teardown(async () => { await nc.close(); await nats.stop() })
  await ensureEventStream(nc)
  await ensureEventStream(nc) // idempotent
  const events = createEventPublisher(nc, manualClock())

  await t.test('published, de-duplicated by event id, validated against the contract', async (t) => {
    const userId = uniqueUserId()
    const id = await events.publish(factorEnrolled, { userId, factor: 'totp' })
    await events.publish(factorEnrolled, { userId, factor: 'totp', eventId: id })
    const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM)
    t.equal(info.state.messages, 1, 'the retry with the same id is dropped')
    const msg = await jetstream(nc).streams.get(EVENTS_STREAM).then((s) => s.getMessage({ seq: 1 }))
    t.match(msg?.json(), { userId, factor: 'totp', eventId: id })
    await t.rejects(events.publish(factorEnrolled, { userId, factor: 'fax' as 'totp' }), /contract/)
  })

  await t.test('consumeEvents: durable, at least once, invalid events dropped', async (t) => {
    const log = createLogger({ name: 'consumer', level: 'silent' })
    const before = uniqueUserId()
    await events.publish(userReset, { userId: before, reason: 'admin' }) // published while nobody listens
    await jetstream(nc).publish(userReset.subject, JSON.stringify({ userId: 'bad' }))
    const seen: string[] = []
    let failOnce = true
    const got = new Promise<void>((resolve) => {
      void consumeEvents(nc, { durable: 'kit-test', event: userReset, log, retryDelayMs: 10 }, async (p) => {
        if (failOnce) { failOnce = false; throw new Error('transient') }
        seen.push(p.userId)
        if (seen.length === 2) resolve()
      }).then((sub) => t.teardown(() => sub.stop()))
    })
    const after = uniqueUserId()
    await events.publish(userReset, { userId: after, reason: 'disabled' })
    await got
    t.same(seen.sort(), [before, after].sort(), 'the failed delivery was retried; the invalid event never reached the handler')
  })
})
