import { Vonage } from '@vonage/server-sdk'
import t from 'tap'
import { startFakeVonage } from '../src/fake-vonage.js'

/** The status Vonage answered, from the SDK's MessageSendAllFailure. */
async function statusOf (sending: Promise<unknown>): Promise<string> {
  try {
    await sending
    return '0'
  } catch (err) {
    return String((err as { response?: { messages?: Array<{ status?: string }> } }).response?.messages?.[0]?.status)
  }
}

t.test('fake Vonage', async (t) => {
  const seen: string[] = []
  const fake = await startFakeVonage({ onMessage: (m) => { seen.push(m.to) } })
  t.teardown(() => fake.close())
  const vonage = new Vonage({ apiKey: fake.apiKey, apiSecret: fake.apiSecret }, { restHost: fake.url })

  t.test('accepts and records what the official SDK sends', async (t) => {
    fake.clear()
    const res = await vonage.sms.send({ to: '4791234567', from: 'Warden', text: 'hello', clientRef: 'sch_x-1' })
    t.equal(res.messages[0]?.status, '0')
    t.match(fake.messages(), [{ to: '4791234567', from: 'Warden', text: 'hello', clientRef: 'sch_x-1', status: '0', messageId: /^fake-/ }])
    t.equal((res.messages[0] as { messageId?: string }).messageId, fake.messages()[0]?.messageId)
    t.same(seen, ['4791234567'], 'onMessage sees each accepted message')
  })

  t.test('answers the statuses it is told to, then accepts again', async (t) => {
    fake.clear()
    fake.answerNext('1', '9')
    const statuses: string[] = []
    for (let i = 0; i < 3; i++) statuses.push(await statusOf(vonage.sms.send({ to: '4791234567', from: 'Warden', text: `m${i}` })))
    t.same(statuses, ['1', '9', '0'])
    t.same(fake.messages().map((m) => m.status), ['1', '9', '0'], 'refused requests are recorded too')
    t.same(fake.outbox().map((m) => m.text), ['m2'], 'the outbox holds accepted messages only')
  })

  t.test('wrong credentials answer status 4', async (t) => {
    const wrong = new Vonage({ apiKey: fake.apiKey, apiSecret: 'nope' }, { restHost: fake.url })
    t.equal(await statusOf(wrong.sms.send({ to: '4791234567', from: 'Warden', text: 'x' })), '4')
  })

  t.test('its HTTP API: the outbox newest first and capped, steering, clearing', async (t) => {
    fake.clear()
    for (let i = 0; i < 3; i++) await vonage.sms.send({ to: '4791234567', from: 'Warden', text: `n${i}` })
    const page = await (await fetch(`${fake.url}/_fake/messages?limit=2`)).json() as { messages: Array<{ text: string }> }
    t.same(page.messages.map((m) => m.text), ['n2', 'n1'])
    const inbox = await (await fetch(`${fake.url}/_fake/outbox`)).json() as { messages: Array<Record<string, string>> }
    t.match(inbox.messages, [{ channel: 'sms', to: '+4791234567', text: 'n2', sentAt: /^\d{4}-/ }, { text: 'n1' }, { text: 'n0' }])
    const steer = await fetch(`${fake.url}/_fake/answers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ statuses: ['8'] }) })
    t.equal(steer.status, 204)
    t.equal(await statusOf(vonage.sms.send({ to: '4791234567', from: 'Warden', text: 'x' })), '8')
    const bad = await fetch(`${fake.url}/_fake/answers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"statuses":[8]}' })
    t.equal(bad.status, 400)
    t.equal((await fetch(`${fake.url}/_fake/messages`, { method: 'DELETE' })).status, 204)
    t.same(fake.messages(), [])
    t.equal((await fetch(`${fake.url}/nope`)).status, 404)
  })

  t.test('form-encoded requests (other clients) and malformed JSON', async (t) => {
    fake.clear()
    const form = new URLSearchParams({ api_key: fake.apiKey, api_secret: fake.apiSecret, to: '46701234567', from: 'W', text: 'form' })
    const res = await fetch(`${fake.url}/sms/json`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form })
    t.match(await res.json(), { 'message-count': '1', messages: [{ status: '0', to: '46701234567' }] })
    const bad = await fetch(`${fake.url}/sms/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
    t.equal(bad.status, 400)
    const missing = await fetch(`${fake.url}/sms/json`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${fake.apiKey}:${fake.apiSecret}`).toString('base64')}` }, body: '{"to":"4791234567"}' })
    t.match(await missing.json(), { messages: [{ status: '2' }] })
  })
})
