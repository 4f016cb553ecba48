import { createHmac } from 'node:crypto'
import t from 'tap'
import { startWebhookReceiver, verifyStandardWebhook } from '../src/webhook-receiver.js'

t.test('records deliveries and answers as told: ok, failing, down, back up', async (t) => {
  const receiver = await startWebhookReceiver(t)
  const post = (body: string) => fetch(receiver.url, { method: 'POST', body, headers: { 'webhook-id': 'msg_1' } })
  t.equal((await post('{"a":1}')).status, 200)
  receiver.respondWith(503)
  t.equal((await post('{"a":2}')).status, 503)
  t.same(receiver.requests.map((r) => [r.body, r.status]), [['{"a":1}', 200], ['{"a":2}', 503]])
  t.same(receiver.accepted().map((r) => r.body), ['{"a":1}'])
  t.equal(receiver.requests[0]?.headers['webhook-id'], 'msg_1')

  await receiver.stop()
  await t.rejects(post('{"a":3}'), 'a stopped receiver refuses connections')
  receiver.respondWith(200)
  await receiver.start()
  t.equal((await post('{"a":4}')).status, 200, 'back on the same URL')
})

t.test('a slow receiver holds its answer', async (t) => {
  const receiver = await startWebhookReceiver(t)
  receiver.delayBy(150)
  const started = Date.now()
  await fetch(receiver.url, { method: 'POST', body: '{}' })
  t.ok(Date.now() - started >= 140)
})

t.test('verifyStandardWebhook', async (t) => {
  // The specification's own example (standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
  const timestamp = '1614265330'
  const body = '{"test": 2432232314}'
  const mac = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')
  t.equal(mac, 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'matches the specification example')
  const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` }
  const at = new Date(Number(timestamp) * 1000)
  t.ok(verifyStandardWebhook(secret, headers, body, { now: at }))
  t.ok(verifyStandardWebhook(secret, { ...headers, 'webhook-signature': `v1,bm9wZQ== v1,${mac}` }, body, { now: at }), 'any one of several signatures')
  t.notOk(verifyStandardWebhook(secret, headers, body + ' ', { now: at }), 'body changed')
  t.notOk(verifyStandardWebhook(secret, { ...headers, 'webhook-id': 'msg_other' }, body, { now: at }), 'id changed')
  t.notOk(verifyStandardWebhook(secret, headers, body, { now: new Date(at.getTime() + 301_000) }), 'too old')
  t.notOk(verifyStandardWebhook('whsec_' + Buffer.alloc(24).toString('base64'), headers, body, { now: at }), 'another secret')
  t.notOk(verifyStandardWebhook(secret, { ...headers, 'webhook-signature': `v2,${mac}` }, body, { now: at }), 'unknown version')
  t.notOk(verifyStandardWebhook(secret, { 'webhook-id': id, 'webhook-timestamp': timestamp }, body, { now: at }), 'no signature')
})
