// The user is told through their own factors: the notifier's bus adapter asks the real
// factor-push and factor-sms (in this process, over real NATS and Redis) with the fake FCM and the
// fake Vonage behind them; then the whole path, from a high-risk event on the stream to the SMS.
// Also the two verbs' malformed input, over the bus.
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { confirmSms, createPairing, enrollSms, factorRemoved, notifyPush, notifySms, registerDevice } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { createEventPublisher, generateKeyRingSpec } from '@warden/service-kit'
import { eventually, manualClock, startFakeFcm, startFakeVonage, startInfra, uniqueUserId } from '@warden/testkit'
import t from 'tap'
// The built services (npm test builds the workspace first); not dependencies of the notifier's package.
import { loadPushConfig, startPushService } from '../../factor-push/dist/app.js'
import { loadSmsConfig, startSmsService } from '../../factor-sms/dist/app.js'
import { createBusUserNotifier } from '../src/adapters/bus-user-notifier.js'
import { loadNotifierConfig, startNotifier } from '../src/app.js'
import type { UserMessage } from '../src/ports.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)
const vonage = await startFakeVonage()
t.teardown(() => vonage.close())
const fcm = await startFakeFcm(t)
const base = { NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent' }
const sms = await startSmsService(loadSmsConfig({
  ...base, SECRET_KEYS: generateKeyRingSpec('k1'), SMS_HMAC_KEY: randomBytes(32).toString('base64'),
  VONAGE_API_KEY: vonage.apiKey, VONAGE_API_SECRET: vonage.apiSecret, VONAGE_REST_HOST: vonage.url,
}), { clock, sleep: async (ms) => { clock.advance(ms) } })
t.teardown(() => sms.stop())
const push = await startPushService(loadPushConfig({ ...base, SECRET_KEYS: generateKeyRingSpec() }), {
  clock, fcm: { credential: fcm.credential, projectId: fcm.projectId, httpAgent: fcm.agent },
})
t.teardown(() => push.stop())
const nc = await connect({ servers: infra.nats.url })
t.teardown(() => nc.close())
const users = createBusUserNotifier({ nc, timeoutMs: 5_000 })

const eventId = (): string => `evt_${randomBytes(16).toString('base64url')}`
const message = (userId: string, id = eventId()): UserMessage => ({
  userId, eventId: id, text: 'Warden: your authenticator app was removed. Not you?', notYouUrl: 'https://id.example.com/ui/#not-me=abc.def',
})

/** A verified phone for `userId`: added, and confirmed with the code the fake Vonage took. */
async function verifiedPhone (userId: string): Promise<string> {
  const number = `+4791${String(randomBytes(3).readUIntBE(0, 3) % 1_000_000).padStart(6, '0')}`
  const added = await request(nc, enrollSms, { userId, number })
  const code = /#(\d{6})$/.exec(vonage.outbox().find((m) => `+${m.to}` === number)?.text ?? '')?.[1] ?? ''
  const confirmed = await request(nc, confirmSms, { userId, phoneId: added.phoneId, code })
  if (confirmed.result !== 'verified') throw new Error('setup: the phone was not verified')
  return number
}

/** An app paired with an FCM token, as the authenticator app pairs: an ES256 JWT with its new key in the header. */
async function pairedDevice (userId: string, fcmToken: string): Promise<void> {
  const { pairingCode } = await request(nc, createPairing, { userId })
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
  const head = b64({ alg: 'ES256', typ: 'warden-push+jwt', jwk: publicKey.export({ format: 'jwk' }) })
  const body = b64({ req: 'pair', pairingCode, name: 'Pixel', platform: 'android', fcmToken, iat: Math.floor(clock.now().getTime() / 1000), jti: randomBytes(16).toString('base64url') })
  const signature = createSign('SHA256').update(`${head}.${body}`).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')
  await request(nc, registerDevice, { jwt: `${head}.${body}.${signature}` })
}

t.test('push to the paired app through FCM; a retry of the same event sends nothing more', async (t) => {
  const userId = uniqueUserId()
  const token = `fcm-${randomBytes(8).toString('hex')}`
  await pairedDevice(userId, token)
  const m = message(userId)
  t.equal(await users.push(m), 1)
  t.equal(await users.push(m), 1, 'the same event id is answered from the record')
  const sent = fcm.requests.filter((r) => r.message.token === token)
  t.equal(sent.length, 1)
  t.same(sent[0]?.message.data, { v: '1', type: 'push.notice', text: m.text, link: m.notYouUrl }, 'a notice, not a sign-in request')
  t.equal(await users.sms(m), 0, 'no phone')
})

t.test('SMS to each verified phone through Vonage, the link after the text', async (t) => {
  const userId = uniqueUserId()
  const number = await verifiedPhone(userId)
  const m = message(userId)
  t.equal(await users.push(m), 0, 'no paired device')
  t.equal(await users.sms(m), 1)
  t.equal(await users.sms(m), 1, 'a retry')
  const texts = vonage.messages().filter((s) => `+${s.to}` === number && !/#\d{6}$/.test(s.text)).map((s) => s.text)
  t.same(texts, [`${m.text} ${m.notYouUrl}`], 'sent once')
})

t.test('nobody to reach: 0 from both', async (t) => {
  const m = message(uniqueUserId())
  t.equal(await users.push(m), 0)
  t.equal(await users.sms(m), 0)
})

t.test('malformed notices are BAD_REQUEST from both verbs, and send nothing', async (t) => {
  const userId = uniqueUserId()
  await verifiedPhone(userId)
  const before = vonage.messages().length
  const malformed: Array<[string, unknown]> = [
    ['no text', { userId }],
    ['an empty text', { userId, text: '' }],
    ['only spaces', { userId, text: '   ' }],
    ['over 320 characters', { userId, text: 'x'.repeat(321) }],
    ['a line break', { userId, text: 'Warden:\nhello' }],
    ['a link that is not http(s)', { userId, text: 'hi', link: 'javascript:alert(1)' }],
    ['a phone number smuggled in', { userId, text: 'hi', to: '+4712345678' }],
    ['a bad idempotency key', { userId, text: 'hi', idempotencyKey: 'short' }],
    ['no user', { text: 'hi' }],
  ]
  for (const subject of [notifyPush.subject, notifySms.subject]) {
    for (const [what, body] of malformed) {
      const reply = await nc.request(subject, JSON.stringify(body), { timeout: 3_000 })
      t.equal(reply.headers?.get('Nats-Service-Error-Code'), '400', `${subject}: ${what}`)
      t.match(reply.json(), { code: 'BAD_REQUEST' })
    }
    const notJson = await nc.request(subject, 'not json', { timeout: 3_000 })
    t.equal(notJson.headers?.get('Nats-Service-Error-Code'), '400', `${subject}: not JSON`)
  }
  t.equal(vonage.messages().length, before, 'nothing sent')
})

t.test('the whole path: a removed factor on the stream reaches the user by SMS, with a "Not you?" link', async (t) => {
  const notifier = await startNotifier(loadNotifierConfig({
    ...base, SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'), PUBLIC_URL: 'https://id.example.com',
  }), { clock, autoDispatch: false })
  t.teardown(() => notifier.stop())
  const userId = uniqueUserId()
  const number = await verifiedPhone(userId)
  await createEventPublisher(nc, clock).publish(factorRemoved, { userId, factor: 'totp', itemId: 'totp_0000000000000001' })
  await eventually(async () => {
    await notifier.dispatcher.runUntilIdle()
    return vonage.messages().some((s) => `+${s.to}` === number && s.text.startsWith('Warden: your authenticator app was removed.'))
  }, { what: 'the SMS', timeoutMs: 10_000 })
  const texts = vonage.messages().filter((s) => `+${s.to}` === number && s.text.startsWith('Warden:')).map((s) => s.text)
  t.match(texts.find((x) => x.includes('removed')), /^Warden: your authenticator app was removed\. Not you\? https:\/\/id\.example\.com\/ui\/#not-me=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
  t.ok(texts.some((x) => x.startsWith('Warden: a new phone number was added to your account. Not you? https://')), 'confirming the phone was news too')
})
