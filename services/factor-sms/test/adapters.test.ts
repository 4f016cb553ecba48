import { connect } from '@nats-io/transport-node'
import { BusError } from '@warden/contracts'
import { createAttemptGate, createLogger, createRedisAttemptLimiter, generateKeyRingSpec, parseKeyRing } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { captureLog, manualClock, startFakeVonage, startInfra, uniqueUserId } from '@warden/testkit'
import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createCryptoRandomness } from '../src/adapters/crypto-randomness.js'
import { createHmacDigests } from '../src/adapters/hmac-digests.js'
import { createKeyRingPhoneCipher } from '../src/adapters/key-ring-phone-cipher.js'
import { createLibphonenumberPhoneNumbers, maskInternational } from '../src/adapters/libphonenumber-phone-numbers.js'
import { createRedisChallengeStore } from '../src/adapters/redis-challenge-store.js'
import { createRedisConversionBreaker, DEFAULT_CONVERSION_LIMITS } from '../src/adapters/redis-conversion-breaker.js'
import { createRedisSendBudget, DEFAULT_SEND_LIMITS } from '../src/adapters/redis-send-budget.js'
import { createStorePhoneStore, SMS_BUCKET, type SmsRecord } from '../src/adapters/store-phone-store.js'
import { createVonageSmsClient, createVonageSmsSender } from '../src/adapters/vonage-sms-sender.js'
import { loadSmsConfig } from '../src/config.js'
import { buildSmsDeps } from '../src/deps.js'
import type { Challenge, ChallengeKey, PhoneRecord } from '../src/ports.js'
import { createSmsService } from '../src/service.js'

const HOUR = 3600_000

t.test('libphonenumber numbers', async (t) => {
  const numbers = createLibphonenumberPhoneNumbers()
  t.test('mobile numbers become E.164 with region, calling code and a mask', async (t) => {
    t.same(numbers.classify('+47 912 34 567'), { ok: true, number: { e164: '+4791234567', region: 'NO', callingCode: '47', masked: '+47 •• •• •• 67' } })
    t.match(numbers.classify('0046 70 123 45 67'), { ok: true, number: { e164: '+46701234567', region: 'SE', masked: '+46 •• ••• •• 67' } })
    t.match(numbers.classify('+1 201 555 0123'), { ok: true, number: { region: 'US', callingCode: '1', masked: '+1 ••• ••• ••23' } }, 'NANP numbers cannot be told from fixed lines: accepted')
    t.match(numbers.classify('+44 7400 123456'), { ok: true, number: { region: 'GB' } })
  })
  t.test('each refused kind has its own reason', async (t) => {
    const cases: Array<[string, string]> = [
      ['', 'invalid_number'], ['+', 'invalid_number'], ['912 34 567', 'invalid_number'], ['+47 12', 'invalid_number'],
      ['+'.padEnd(60, '4'), 'invalid_number'], ['+44 7700 900123', 'invalid_number'],
      ['+47 820 12 345', 'premium_rate'], ['+1 900 555 0123', 'premium_rate'], ['+44 871 234 5678', 'premium_rate'],
      ['+41 840 123 456', 'shared_cost'], ['+34 901 12 34 56', 'shared_cost'],
      ['+44 800 123 4567', 'toll_free'], ['+1 800 555 0123', 'toll_free'],
      ['+47 850 12 345', 'voip'], ['+44 56 1234 5678', 'voip'],
      ['+47 22 12 34 56', 'not_mobile'], ['+49 30 12345678', 'not_mobile'], ['+47 810 12 345', 'not_mobile'],
    ]
    for (const [input, reason] of cases) t.same(numbers.classify(input), { ok: false, reason }, JSON.stringify(input))
  })
  t.test('masks keep the calling code and the last two digits only', async (t) => {
    t.equal(maskInternational('+47 91 23 45 67'), '+47 •• •• •• 67')
    t.equal(maskInternational('+49 1512 3456789'), '+49 •••• •••••89')
  })
})

t.test('key-ring phone cipher', async (t) => {
  const cipher = createKeyRingPhoneCipher(parseKeyRing(generateKeyRingSpec('k1')))
  const sealed = cipher.seal('+4791234567', 'usr_a', 'phn_1')
  t.match(sealed, /^v1\.k1\./)
  t.notOk(sealed.includes('4791234567'))
  t.equal(cipher.open(sealed, 'usr_a', 'phn_1'), '+4791234567')
  t.throws(() => cipher.open(sealed, 'usr_b', 'phn_1'), 'bound to its user')
  t.throws(() => cipher.open(sealed, 'usr_a', 'phn_2'), 'and to its phone')
})

t.test('HMAC digests', async (t) => {
  const key = randomBytes(32)
  const d = createHmacDigests(key)
  t.equal(d.numberHash('+4791234567'), createHmacDigests(key).numberHash('+4791234567'), 'stable for lookups')
  t.not(d.numberHash('+4791234567'), createHmacDigests(randomBytes(32)).numberHash('+4791234567'), 'keyed')
  t.match(d.numberHash('+4791234567'), /^[A-Za-z0-9_-]{43}$/)
  const mac = d.codeMac('sch_a', '123456')
  t.ok(d.codeMatches(mac, 'sch_a', '123456'))
  t.notOk(d.codeMatches(mac, 'sch_b', '123456'), 'bound to its challenge')
  t.notOk(d.codeMatches(mac, 'sch_a', '123457'))
  t.notOk(d.codeMatches('short', 'sch_a', '123456'))
  t.throws(() => createHmacDigests(randomBytes(16)), /32 bytes/)
})

t.test('crypto randomness: 6-digit codes, 4-digit references, opaque ids', async (t) => {
  const r = createCryptoRandomness()
  const codes = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const code = r.code()
    t.match(code, /^\d{6}$/)
    t.match(r.reference(), /^\d{4}$/)
    codes.add(code)
  }
  t.ok(codes.size > 190, 'codes vary')
  t.match(r.challengeId(), /^sch_[A-Za-z0-9_-]{22}$/)
  t.match(r.phoneId(), /^phn_[A-Za-z0-9_-]{22}$/)
  t.equal(r.eventId('x'), r.eventId('x'))
})

t.test('against real NATS, Redis and the fake Vonage', async (t) => {
  const infra = await startInfra(t)
  const redis = new Redis(infra.redis.url)
  const nc = await connect({ servers: infra.nats.url })
  const fake = await startFakeVonage()
  t.teardown(async () => { await fake.close(); await nc.close(); redis.disconnect() })

  t.test('store phone store: compare-and-set per user, purge on reset', async (t) => {
    const store = createStorePhoneStore(await createKvStoreFactory(nc).open<SmsRecord>(SMS_BUCKET))
    const userId = uniqueUserId()
    const phone = { phoneId: 'phn_1', sealedNumber: 'v1.k1.x', numberHash: 'h', masked: '+47 •• 67', region: 'NO', callingCode: '47', verified: false, createdAt: '2026-03-01T12:00:00.000Z' } satisfies PhoneRecord
    t.equal(await store.get(userId), undefined)
    t.ok(await store.save(userId, { phones: [phone] }, undefined))
    t.notOk(await store.save(userId, { phones: [] }, undefined), 'a second first write loses')
    const got = await store.get(userId)
    t.same(got?.value.phones, [phone])
    t.ok(await store.save(userId, { phones: [phone, { ...phone, phoneId: 'phn_2' }] }, got?.revision as number))
    t.notOk(await store.save(userId, { phones: [] }, got?.revision as number), 'a stale revision loses')
    await store.removeAll(userId)
    t.equal(await store.get(userId), undefined)
    t.ok(await store.save(userId, { phones: [] }, undefined), 'a user can start again after a reset')
  })

  t.test('redis challenge store', async (t) => {
    const store = createRedisChallengeStore(redis, { prefix: 'sms-t', keepMs: 60_000 })
    const key: ChallengeKey = { userId: uniqueUserId(), scope: 'signin', id: 'txn_1' }
    const ch = (sendNo: number, over: Partial<Challenge> = {}): Challenge => ({
      challengeId: 'sch_1', reference: '0042', phoneId: 'phn_1', callingCode: '47', sendNo, codeMac: `mac${sendNo}`, sentAt: 1000, expiresAt: 301_000, tries: 0, ...over,
    })
    t.same(await store.attempt(key, 5, 1000), { state: 'none' })
    t.ok(await store.issue(key, ch(1), 0))
    t.notOk(await store.issue(key, ch(1), 0), 'a parallel first send loses')
    t.same(await store.get(key), ch(1), 'the reference keeps its leading zeros')
    const parallel = await Promise.all([store.issue(key, ch(2), 1), store.issue(key, ch(2, { codeMac: 'other' }), 1)])
    t.same(parallel.sort(), [false, true], 'of parallel resends one wins')
    for (let i = 1; i <= 5; i++) t.match(await store.attempt(key, 5, 2000), { state: 'counted', challenge: { tries: i, sendNo: 2 } })
    t.same(await store.attempt(key, 5, 2000), { state: 'burned' })
    t.ok(await store.issue(key, ch(3, { expiresAt: 400_000 }), 2))
    t.match(await store.attempt(key, 5, 2000), { state: 'counted', challenge: { tries: 1, sendNo: 3 } }, 'a new code has fresh tries')
    t.same(await store.attempt(key, 5, 400_000), { state: 'expired' }, 'expiry on the injected clock')
    t.notOk(await store.consume(key, 'sch_1', 2), 'an older send cannot be consumed')
    const consumed = await Promise.all([store.consume(key, 'sch_1', 3), store.consume(key, 'sch_1', 3)])
    t.same(consumed.sort(), [false, true], 'single use')
    t.equal(await store.get(key), undefined)
    await store.issue(key, ch(1), 0)
    await store.drop(key)
    t.equal(await store.get(key), undefined)
  })

  t.test('redis send budget', async (t) => {
    t.test('10 per account per 24 h, 5 per number per hour, 20 per IP per hour, with moved time', async (t) => {
      const budget = createRedisSendBudget(redis, { prefix: `b-${randomBytes(4).toString('hex')}` })
      const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
      const now = () => clock.now().getTime()
      const userId = uniqueUserId()
      let n = 0
      const r = (over: { userId?: string, numberHash?: string, ip?: string } = {}) => ({ sendId: `s${++n}`, userId, numberHash: `h${n % 3}`, ...over })
      // Account: 10 over three numbers, each under its hourly 5.
      for (let i = 0; i < 10; i++) t.same(await budget.reserve(r(), now()), { ok: true })
      t.same(await budget.reserve(r(), now()), { ok: false, budget: 'account', retryAt: now() + 24 * HOUR })
      clock.advance(24 * HOUR)
      t.same(await budget.reserve(r(), now()), { ok: true }, 'the day has passed')

      // Number: 5 an hour, whoever asks.
      for (let i = 0; i < 5; i++) t.same(await budget.reserve(r({ userId: uniqueUserId(), numberHash: 'shared' }), now()), { ok: true })
      const refused = await budget.reserve(r({ userId: uniqueUserId(), numberHash: 'shared' }), now())
      t.same(refused, { ok: false, budget: 'phone', retryAt: now() + HOUR })
      clock.advance(HOUR - 1)
      t.match(await budget.reserve(r({ userId: uniqueUserId(), numberHash: 'shared' }), now()), { ok: false, budget: 'phone' })
      clock.advance(1)
      t.same(await budget.reserve(r({ userId: uniqueUserId(), numberHash: 'shared' }), now()), { ok: true })

      // IP: 20 an hour across accounts and numbers.
      for (let i = 0; i < 20; i++) t.same(await budget.reserve(r({ userId: uniqueUserId(), numberHash: `ip${i}`, ip: '203.0.113.9' }), now()), { ok: true })
      t.match(await budget.reserve(r({ userId: uniqueUserId(), numberHash: 'ipx', ip: '203.0.113.9' }), now()), { ok: false, budget: 'ip' })
      t.same(await budget.reserve(r({ userId: uniqueUserId(), numberHash: 'ipy', ip: '203.0.113.10' }), now()), { ok: true })
    })

    t.test('a refusal takes nothing; a release gives everything back', async (t) => {
      const budget = createRedisSendBudget(redis, { prefix: `b-${randomBytes(4).toString('hex')}`, limits: { ...DEFAULT_SEND_LIMITS, numberPerHour: 1 } })
      const userId = uniqueUserId()
      t.same(await budget.reserve({ sendId: 'a', userId, numberHash: 'h' }, 1000), { ok: true })
      t.match(await budget.reserve({ sendId: 'b', userId, numberHash: 'h' }, 1000), { ok: false, budget: 'phone' })
      for (let i = 0; i < 9; i++) await budget.reserve({ sendId: `c${i}`, userId, numberHash: `h${i}` }, 1000)
      t.match(await budget.reserve({ sendId: 'd', userId, numberHash: 'new' }, 1000), { ok: false, budget: 'account' }, 'the refused b took no account slot: a + 9 = 10')
      await budget.release({ sendId: 'a', userId, numberHash: 'h' })
      t.same(await budget.reserve({ sendId: 'e', userId, numberHash: 'h' }, 1000), { ok: true }, 'a released SMS frees its number and account slots')
    })

    t.test('the global breaker opens past N an hour, says so once, pauses, then closes', async (t) => {
      const budget = createRedisSendBudget(redis, { prefix: `b-${randomBytes(4).toString('hex')}`, limits: { ...DEFAULT_SEND_LIMITS, globalPerHour: 3, globalPauseMs: 900_000 } })
      for (let i = 0; i < 3; i++) t.same(await budget.reserve({ sendId: `g${i}`, userId: uniqueUserId(), numberHash: `h${i}` }, 1000), { ok: true })
      const [a, b] = await Promise.all([1, 2].map((i) => budget.reserve({ sendId: `x${i}`, userId: uniqueUserId(), numberHash: `x${i}` }, 2000)))
      t.same([a, b].filter((x) => x?.ok === false && x.opened === true).length, 1, 'one of two parallel refusals opened it')
      t.match(a, { ok: false, budget: 'global', retryAt: 902_000 })
      t.same(await budget.reserve({ sendId: 'y', userId: uniqueUserId(), numberHash: 'y' }, 500_000), { ok: false, budget: 'global', retryAt: 902_000 }, 'paused, and announced only once')
      t.same(await budget.reserve({ sendId: 'z', userId: uniqueUserId(), numberHash: 'z' }, 1000 + HOUR + 1), { ok: true }, 'the pause is over and the hour has slid')
    })
  })

  t.test('redis conversion breaker', async (t) => {
    const breaker = createRedisConversionBreaker(redis, { prefix: `c-${randomBytes(4).toString('hex')}` })
    const L = DEFAULT_CONVERSION_LIMITS
    let t0 = Date.parse('2026-03-01T12:00:00.000Z')
    // 49 sends, 10 verified: too few sends to judge.
    for (let i = 0; i < 49; i++) {
      await breaker.recordSent('47', `a${i}`, t0 + i * 1000)
      if (i < 10) await breaker.recordVerified('47', `a${i}`, t0 + i * 1000)
    }
    const judged = t0 + 49_000 + L.graceMs
    t.same(await breaker.check('47', judged), { open: false }, 'under 50 sends: not judged')
    await breaker.recordSent('47', 'a49', t0 + 49_000)
    t.same(await breaker.check('47', judged - 1), { open: false }, 'the newest send is still within its grace')
    t.same(await breaker.check('47', judged), { open: true, until: judged + L.pauseMs, opened: { sent: 50, verified: 10 } }, '10 of 50 is 20% < 30%')
    t.same(await breaker.check('47', judged + 1000), { open: true, until: judged + L.pauseMs }, 'open, but only announced once')
    t.same(await breaker.check('46', judged), { open: false }, 'other calling codes are not affected')
    t.same(await breaker.check('47', judged + L.pauseMs), { open: false }, 'after the pause the old sends are out of the window')

    t0 = judged + 2 * HOUR
    for (let i = 0; i < 50; i++) {
      await breaker.recordSent('45', `b${i}`, t0 + i)
      if (i < 15) await breaker.recordVerified('45', `b${i}`, t0 + i)
    }
    t.same(await breaker.check('45', t0 + 50 + L.graceMs), { open: false }, '15 of 50 is 30%: stays closed')
  })

  t.test('vonage sender through the official SDK', async (t) => {
    const vonage = createVonageSmsClient({ apiKey: fake.apiKey, apiSecret: fake.apiSecret, restHost: fake.url })
    const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
    const waits: number[] = []
    const logs = captureLog()
    const log = createLogger({ name: 'factor-sms', level: 'info', destination: logs.stream })
    const sender = createVonageSmsSender({
      sms: vonage, from: 'Warden', retries: 2, backoffMs: 500, clock, log,
      sleep: async (ms) => { waits.push(ms); clock.advance(ms) },
    })
    const sms = (n: number, deadlineInMs = 300_000) => ({ to: '+4791234567', text: `123456 is your code #${n}`, clientRef: `sch_t-${n}`, deadline: new Date(clock.now().getTime() + deadlineInMs) })

    t.test('status 0: accepted, with the client reference and without the +', async (t) => {
      fake.clear()
      const res = await sender.send(sms(1))
      t.match(fake.messages(), [{ to: '4791234567', from: 'Warden', clientRef: 'sch_t-1', status: '0' }])
      t.equal(res.messageId, fake.messages()[0]?.messageId)
    })
    t.test('statuses 1 and 5 are retried at most twice, with a growing wait', async (t) => {
      fake.clear()
      waits.length = 0
      fake.answerNext('1', '5')
      await sender.send(sms(2))
      t.same(fake.messages().map((m) => m.status), ['1', '5', '0'])
      t.same(waits, [500, 1000])
      fake.clear()
      waits.length = 0
      fake.answerNext('5', '5', '5')
      await t.rejects(sender.send(sms(3)), { code: 'PROVIDER_UNAVAILABLE' })
      t.equal(fake.messages().length, 3, 'three tries, then it gives up')
      fake.clear()
    })
    t.test('retries stay inside the code\'s life', async (t) => {
      fake.clear()
      fake.answerNext('1', '1')
      await t.rejects(sender.send(sms(4, 1200)), { code: 'PROVIDER_UNAVAILABLE' })
      t.equal(fake.messages().length, 2, 'the second wait (1000 ms) would pass the deadline')
      fake.clear()
    })
    t.test('statuses 8 and 9 are not retried', async (t) => {
      for (const status of ['8', '9']) {
        fake.clear()
        fake.answerNext(status)
        const err = await sender.send(sms(5)).catch((e: unknown) => e)
        t.ok(BusError.is(err) && err.code === 'PROVIDER_UNAVAILABLE', `status ${status}`)
        t.equal((err as Error).cause, undefined, 'the SDK error (which holds the request) is not kept')
        t.equal(fake.messages().length, 1)
      }
    })
    t.test('an unreachable provider is PROVIDER_UNAVAILABLE', async (t) => {
      const down = createVonageSmsSender({
        sms: createVonageSmsClient({ apiKey: 'k', apiSecret: 's', restHost: 'http://127.0.0.1:9', timeout: 1000 }), from: 'Warden', retries: 2, backoffMs: 500, clock, log,
      })
      await t.rejects(down.send(sms(6)), { code: 'PROVIDER_UNAVAILABLE' })
    })
    t.test('logs name the status and the client reference, never the number or the text', async (t) => {
      const text = logs.text()
      t.match(text, /"status":"8"/)
      t.match(text, /sch_t-5/)
      t.notOk(text.includes('4791234567'), 'no number')
      // As a whole number: the digits also occur inside millisecond timestamps, which is no leak.
      t.notMatch(text, /(?<![0-9])123456(?![0-9])/, 'no code')
    })
  })

  t.test('the service on these adapters: one SMS per (challenge, send number), with the reference it answered', async (t) => {
    const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
    const config = loadSmsConfig({
      SECRET_KEYS: generateKeyRingSpec('k1'), SMS_HMAC_KEY: randomBytes(32).toString('base64'),
      VONAGE_API_KEY: fake.apiKey, VONAGE_API_SECRET: fake.apiSecret, VONAGE_REST_HOST: fake.url, SMS_ORIGIN_HOST: 'warden.example',
    })
    const events: unknown[] = []
    const logs = captureLog()
    const deps = buildSmsDeps({
      config, redis, store: await createKvStoreFactory(nc).open<SmsRecord>(SMS_BUCKET), clock,
      events: { emit: async (e, body) => { events.push({ subject: e.subject, body }) } },
      attemptGate: (o) => createAttemptGate({ factor: 'sms', limiter: createRedisAttemptLimiter(redis, { prefix: o.counter, clock, limits: o.limits }), clock }),
      metrics: { inc: () => undefined },
      log: createLogger({ name: 'factor-sms', level: 'info', destination: logs.stream }),
    })
    const sms = createSmsService(deps)
    const userId = uniqueUserId()
    fake.clear()
    const added = await sms.enroll({ userId, number: '+47 912 34 567', ip: '192.0.2.1' })
    const code = /#(\d{6})$/.exec(fake.messages()[0]?.text ?? '')?.[1] as string
    t.match(await sms.confirm({ userId, phoneId: added.phoneId, code }), { result: 'verified' })
    clock.advance(31_000)

    const flowId = `txn_${'S'.repeat(43)}`
    const req = { userId, flowId, phoneId: added.phoneId, idempotencyKey: 'retry-0123456789abcdef' }
    const [a, b] = await Promise.allSettled([sms.challenge(req), sms.challenge(req)])
    const answers = [a, b].filter((r) => r.status === 'fulfilled').map((r) => r.value)
    t.ok(answers.length >= 1)
    const again = await sms.challenge(req)
    t.same(again, answers[0], 'a retry is answered from the record')
    const signin = fake.messages().slice(1)
    t.equal(signin.length, 1, 'one SMS for the retried request')
    t.ok(signin[0]?.text.includes(`Reference: ${again.reference}.`), 'the SMS names the reference the API returned')
    t.match(signin[0]?.text, /\n\n@warden\.example #\d{6}$/, 'and ends with the origin-bound line')
    t.match(signin[0]?.clientRef, /^sch_.+-1$/)
    const signinCode = /#(\d{6})$/.exec(signin[0]?.text ?? '')?.[1] as string
    t.match(await sms.verify({ userId, flowId, code: signinCode, idempotencyKey: 'verify-0123456789abcdef' }), { result: 'verified' })
    t.match(await sms.verify({ userId, flowId, code: signinCode, idempotencyKey: 'verify-0123456789abcdef' }), { result: 'verified' }, 'a retried verify gets the recorded answer')
    t.match(await sms.verify({ userId, flowId, code: signinCode }), { result: 'rejected', reason: 'no_challenge' }, 'but the code is spent')

    const keys = await redis.keys('sms*')
    const values = await Promise.all(keys.map(async (k) => {
      const type = await redis.type(k)
      if (type === 'hash') return JSON.stringify(await redis.hgetall(k))
      if (type === 'zset') return JSON.stringify(await redis.zrange(k, '0', '-1'))
      if (type === 'string') return await redis.get(k) ?? ''
      return ''
    }))
    const stored = keys.join(' ') + values.join(' ')
    for (const secret of [code, signinCode, '4791234567']) t.notOk(stored.includes(secret), 'Redis holds no code and no number')
    t.notOk(JSON.stringify(events).includes('4791234567'))
    t.notOk(logs.text().includes(code) || logs.text().includes('4791234567'))
  })
})
