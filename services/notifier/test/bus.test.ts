import { connect } from '@nats-io/transport-node'
import { deleteWebhook, factorRemoved, getWebhook, listActivity, listUserEvents, putWebhook, reportNotMe } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { createEventPublisher, generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock, startInfra, startServiceProcess, uniqueUserId, startWebhookReceiver, verifyStandardWebhook } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { loadNotifierConfig, startNotifier } from '../src/app.js'

t.test('the notifier service over the bus, against real NATS and Redis', async (t) => {
  const infra = await startInfra(t)
  const clock = manualClock(new Date())
  const log = captureLog()
  const config = loadNotifierConfig({
    NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'debug', DEMO_MODE: 'true',
    SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'),
  })
  const notifier = await startNotifier(config, { clock, logDestination: log.stream, autoDispatch: false })
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(async () => { await notifier.stop(); await nc.close() })
  const receiver = await startWebhookReceiver(t)

  t.test('malformed requests are BAD_REQUEST, whatever the verb', async (t) => {
    for (const [endpoint, body] of [
      [listActivity, { userId: 'u', limit: 1000 }], [listUserEvents, { userId: 'u', types: ['nope'] }], [listActivity, { userId: 'u', cursor: 'garbage!' }],
      [putWebhook, { id: 'w', url: receiver.url, events: [], enabled: true }], [getWebhook, { id: '' }], [deleteWebhook, {}],
      [reportNotMe, { token: 'x' }],
    ] as const) {
      const m = await nc.request(endpoint.subject, JSON.stringify(body), { timeout: 3_000 })
      t.equal(m.headers?.get('Nats-Service-Error-Code'), '400', `${endpoint.subject} ${JSON.stringify(body)}`)
    }
    const notJson = await nc.request(listActivity.subject, '{not json', { timeout: 3_000 })
    t.equal(notJson.headers?.get('Nats-Service-Error-Code'), '400')
    await t.rejects(request(nc, listActivity, { userId: 'u', cursor: 'eyJub3QiOiJ1cyJ9' }), { code: 'BAD_REQUEST' }, 'a cursor it did not make')
    await t.rejects(request(nc, reportNotMe, { token: 'eyJ1IjoiYSJ9.' + 'A'.repeat(43) }), { code: 'BAD_REQUEST' }, 'a forged link')
    await t.rejects(request(nc, putWebhook, { id: 'w', url: 'http://10.0.0.1/h', events: ['*'], enabled: true }), { code: 'BAD_REQUEST' }, 'a private address, even in demo mode')
  })

  t.test('webhook admin, an event, its signed delivery, the feed', async (t) => {
    const put = await request(nc, putWebhook, { id: 'bus-test', url: receiver.url, events: ['factor.removed'], enabled: true })
    t.match(put, { created: true, secret: /^whsec_/, webhook: { id: 'bus-test', events: ['factor.removed'] } })
    const userId = uniqueUserId()
    const eventId = await createEventPublisher(nc, clock).publish(factorRemoved, { userId, factor: 'totp', context: { clientId: 'demo-app', ip: '203.0.113.9', userAgent: 'UA' } })
    const deadline = Date.now() + 10_000
    while ((await request(nc, listActivity, { userId })).events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
    t.match(await request(nc, listActivity, { userId }), { events: [{ eventId, type: 'factor.removed', details: { factor: 'totp' }, context: { ip: '203.0.113.9' } }] })
    t.equal((await request(nc, listUserEvents, { userId })).events.length, 1)
    await notifier.dispatcher.runUntilIdle()
    const [delivered] = receiver.accepted()
    t.equal(delivered?.headers['webhook-id'], eventId)
    t.ok(verifyStandardWebhook(put.secret ?? '', delivered?.headers ?? {}, delivered?.body ?? '', { now: clock.now() }))
    t.notOk(JSON.stringify(await request(nc, getWebhook, { id: 'bus-test' })).includes('whsec_'), 'GET never shows the secret')
    t.same(await request(nc, deleteWebhook, { id: 'bus-test' }), { deleted: true })
    await t.rejects(request(nc, getWebhook, { id: 'bus-test' }), { code: 'NOT_FOUND' })
    t.notOk(log.text().includes(put.secret ?? 'x'), 'the secret is never logged')
  })
})

t.test('runs as its own process (npm start, containers): ready, listed by $SRV.PING, no secret in its output', async (t) => {
  const infra = await startInfra(t)
  const reportKey = randomBytes(32).toString('base64')
  const keys = generateKeyRingSpec('k1')
  const running = await startServiceProcess(t, 'notifier', { NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, SECRET_KEYS: keys, REPORT_LINK_KEY: reportKey })
  t.equal((await fetch(`http://127.0.0.1:${running.opsPort}/healthz`)).status, 200)
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(() => nc.close())
  const info = (await nc.request('$SRV.INFO.notifier', '', { timeout: 2_000 })).json<{ endpoints: Array<{ subject: string }> }>()
  t.same(info.endpoints.map((e) => e.subject).sort(), [listActivity, listUserEvents, putWebhook, getWebhook, deleteWebhook, reportNotMe].map((e) => e.subject).sort())
  await running.stop()
  t.notOk(running.output().includes(reportKey) || running.output().includes(keys.slice(6)), 'keys never printed')
})
