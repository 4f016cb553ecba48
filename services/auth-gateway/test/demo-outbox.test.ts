// GET /v1/demo/outbox merges the fake SMS provider's messages with the notifier's demo list (user
// notifications and webhook deliveries, in Redis under NOTIFIER_DEMO_OUTBOX_KEY), newest first.
import { NOTIFIER_DEMO_OUTBOX_KEY } from '@warden/contracts'
import { startFakeVonage } from '@warden/testkit'
import t from 'tap'
import { expectError, startGateway } from './fixtures/gateway.js'

const fake = await startFakeVonage()
t.teardown(() => fake.close())
const gw = await startGateway(t, { env: { DEMO_OUTBOX_URL: fake.url } })

/** One SMS through the fake's Vonage API, as factor-sms sends it. */
async function sendSms (to: string, text: string): Promise<void> {
  const body = new URLSearchParams({ api_key: fake.apiKey, api_secret: fake.apiSecret, from: 'Warden', to, text })
  const res = await fetch(`${fake.url}/sms/json`, { method: 'POST', body })
  if (!res.ok) throw new Error(`the fake answered ${res.status}`)
}

const notifierMessage = (m: { channel: string, to: string, text: string, sentAt: string }) => gw.redis.lpush(NOTIFIER_DEMO_OUTBOX_KEY, JSON.stringify(m))

t.test('the provider\'s SMS and the notifier\'s messages, newest first', async (t) => {
  await notifierMessage({ channel: 'webhook', to: 'http://127.0.0.1:9/hook', text: 'factor.removed evt_AAAAAAAAAAAAAAAAAAAAAA: delivered (204)', sentAt: '2020-01-01T00:00:00.000Z' })
  await sendSms('4791234567', '123456 is your code')
  const future = new Date(Date.now() + 3600_000).toISOString()
  await notifierMessage({ channel: 'sms', to: 'usr_outbox', text: 'Warden: your phone number was removed. Not you? http://127.0.0.1:8080/ui/#not-me=a.b', sentAt: future })
  // Not a message: skipped, never a 500.
  await gw.redis.lpush(NOTIFIER_DEMO_OUTBOX_KEY, 'not json', JSON.stringify({ channel: 'sms', to: 'x' }))

  const res = await gw.call('GET', '/v1/demo/outbox')
  t.equal(res.statusCode, 200)
  const messages = (res.json() as { messages: Array<{ channel: string, to: string, sentAt: string }> }).messages
  t.same(messages.map((m) => [m.channel, m.to]), [['sms', 'usr_outbox'], ['sms', '+4791234567'], ['webhook', 'http://127.0.0.1:9/hook']])
  t.same([...messages].sort((a, b) => Date.parse(b.sentAt) - Date.parse(a.sentAt)), messages, 'newest first')
})

t.test('at most 50', async (t) => {
  for (let i = 0; i < 60; i++) await notifierMessage({ channel: 'notice', to: 'usr_many', text: `notice ${i}`, sentAt: new Date(Date.now() + 7200_000 + i).toISOString() })
  const messages = (await gw.call('GET', '/v1/demo/outbox')).json().messages as Array<{ text: string }>
  t.equal(messages.length, 50)
  t.equal(messages[0]?.text, 'notice 59')
})

t.test('Redis away: 503, not an outbox without the notifier\'s part', async (t) => {
  const other = await startGateway(t, { env: { DEMO_OUTBOX_URL: fake.url } })
  await other.infra.redis.stop()
  expectError(t, await other.call('GET', '/v1/demo/outbox'), 503, 'UNAVAILABLE')
})
