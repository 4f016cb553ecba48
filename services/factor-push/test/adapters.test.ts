import { randomBytes } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { createAttemptGate, createRedisAttemptLimiter, createRedisOutcomeLedger, generateKeyRingSpec, parseKeyRing } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { manualClock, startFakeFcm, startInfra, uniqueUserId } from '@warden/testkit'
import { Redis } from 'ioredis'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { createFcmPushSender, fcmCredential } from '../src/adapters/fcm-push-sender.js'
import { createJoseDeviceTokens, toPublicJwk } from '../src/adapters/jose-device-tokens.js'
import { createKeyRingTokenCipher } from '../src/adapters/key-ring-token-cipher.js'
import { createCryptoRandomness } from '../src/adapters/random.js'
import { createRedisChallengeStore } from '../src/adapters/redis-challenge-store.js'
import { createRedisFatigueBreaker } from '../src/adapters/redis-fatigue-breaker.js'
import { createRedisPairingCodes } from '../src/adapters/redis-pairing-codes.js'
import { createRedisReplayLedger } from '../src/adapters/redis-replay-ledger.js'
import { createStoreDeviceStore, PUSH_BUCKET, type PushRecord } from '../src/adapters/store-device-store.js'
import { loadPushConfig } from '../src/config.js'
import { DEVICE_JWT_TYPE } from '../src/device-requests.js'
import type { Device, PushChallenge } from '../src/ports.js'
import { createPushService } from '../src/service.js'
import { fatigueRules } from './fatigue-rules.js'
import { memoryFatigueBreaker, TestDevice } from './fakes.js'

const FLOW = 'txn_' + 'R'.repeat(43)

t.test('jose device tokens', async (t) => {
  const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const tokens = createJoseDeviceTokens({ clock })
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = toPublicJwk(await exportJWK(publicKey))
  if (jwk === undefined) throw new Error('setup')
  const sign = (claims: object, header: object = {}, key: Parameters<SignJWT['sign']>[0] = privateKey) =>
    new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: DEVICE_JWT_TYPE, ...header }).sign(key)

  const good = await sign({ req: 'challenges', sub: 'dev_x' })
  t.same(tokens.peek(good), { req: 'challenges', sub: 'dev_x' })
  t.equal(tokens.peek('garbage'), undefined)
  t.same((await tokens.verify(good, jwk))?.claims, { req: 'challenges', sub: 'dev_x' })
  t.same((await tokens.verify(await sign({ a: 1 }, { jwk }), 'embedded'))?.jwk, jwk, 'embedded key')
  const other = toPublicJwk(await exportJWK((await generateKeyPair('ES256')).publicKey))
  t.equal(await tokens.verify(good, other as never), undefined, 'another key')
  t.equal(await tokens.verify(await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(privateKey), jwk), undefined, 'typ is required')
  t.equal(await tokens.verify(await new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: DEVICE_JWT_TYPE }).sign(randomBytes(32)), jwk), undefined, 'HS256')
  const [h, p] = good.split('.')
  t.equal(await tokens.verify(`${Buffer.from(JSON.stringify({ alg: 'none', typ: DEVICE_JWT_TYPE })).toString('base64url')}.${p}.`, jwk), undefined, 'alg none')
  t.equal(await tokens.verify(`${h}.${p}.${'A'.repeat(86)}`, jwk), undefined, 'a bad signature')
  t.equal(await tokens.verify(await sign({ exp: Math.floor(clock.now().getTime() / 1000) - 10 }), jwk), undefined, 'exp, on the injected clock')
  t.equal(await tokens.verify(await sign({}, { jwk: { ...jwk, d: 'A'.repeat(43) } }), 'embedded'), undefined, 'a private key in the header')
  t.equal(await tokens.verify(await sign({}, { jwk: { ...jwk, x: jwk.y, y: jwk.x } }), 'embedded'), undefined, 'a point off the curve')
  t.equal(toPublicJwk({ kty: 'EC', crv: 'P-384', x: jwk.x, y: jwk.y }), undefined)
  t.equal(toPublicJwk({ kty: 'RSA', n: 'x', e: 'AQAB' }), undefined)
  t.match(await tokens.thumbprint(jwk), /^[A-Za-z0-9_-]{43}$/)
  t.equal(await tokens.thumbprint(jwk), await tokens.thumbprint({ ...jwk }), 'stable')
})

t.test('key-ring token cipher: sealed, bound to its device', async (t) => {
  const cipher = createKeyRingTokenCipher(parseKeyRing(generateKeyRingSpec('k1')))
  const sealed = cipher.seal('fcm-token-123', 'dev_a')
  t.match(sealed, /^v1\.k1\./)
  t.notOk(sealed.includes('fcm-token'))
  t.equal(cipher.open(sealed, 'dev_a'), 'fcm-token-123')
  t.throws(() => cipher.open(sealed, 'dev_b'))
})

t.test('crypto randomness', async (t) => {
  const r = createCryptoRandomness()
  t.match(r.pairingCode(), /^[A-Za-z0-9_-]{22}$/)
  t.match(r.nonce(), /^[A-Za-z0-9_-]{22}$/)
  t.match(r.deviceId(), /^dev_[A-Za-z0-9_-]{22}$/)
  t.match(r.challengeId(), /^pch_[A-Za-z0-9_-]{22}$/)
  const numbers = new Set(Array.from({ length: 2000 }, () => r.number()))
  t.equal(Math.min(...numbers), 10)
  t.equal(Math.max(...numbers), 99)
  t.equal(numbers.size, 90, 'every two-digit number occurs')
})

t.test('config: SECURITY.md defaults; the service-account JSON is never echoed', async (t) => {
  const c = loadPushConfig({ SECRET_KEYS: generateKeyRingSpec() })
  t.match(c, {
    PUSH_CHALLENGE_TTL_SEC: 120, PUSH_PAIRING_TTL_SEC: 600, PUSH_MAX_PER_WINDOW: 3, PUSH_WINDOW_SEC: 600,
    PUSH_DENIALS_TO_PAUSE: 2, PUSH_DENIAL_WINDOW_SEC: 3600, PUSH_PAUSE_SEC: 3600, PUSH_NOT_ME_WEIGHT: 2,
    PUSH_MAX_TOKEN_SKEW_SEC: 60, FCM_MAX_RETRIES: 2,
  })
  t.equal(c.FCM_SERVICE_ACCOUNT_JSON, undefined, 'no FCM by default: the apps poll')
  t.throws(() => loadPushConfig({ SECRET_KEYS: generateKeyRingSpec(), PUSH_CHALLENGE_TTL_SEC: '900' }), /PUSH_CHALLENGE_TTL_SEC/)
  t.throws(() => fcmCredential('{"private_key": "-----BEGIN'), { message: 'invalid configuration: FCM_SERVICE_ACCOUNT_JSON is not JSON' }, 'names the field, not the value')
  t.throws(() => fcmCredential('{"client_email":"a@b"}'), /project_id/)
})

t.test('against Redis and NATS KV', async (t) => {
  const infra = await startInfra(t)
  const redis = new Redis(infra.redis.url)
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(async () => { redis.disconnect(); await nc.close() })
  const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))

  t.test('replay ledger: each jti once, one winner in parallel', async (t) => {
    const ledger = createRedisReplayLedger(redis, { prefix: 'push-test' })
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.claim('dev:a', 'jti-aaaaaaaaaaaaaaaa', 120_000)))
    t.equal(results.filter(Boolean).length, 1)
    t.ok(await ledger.claim('dev:b', 'jti-aaaaaaaaaaaaaaaa', 120_000), 'scoped per device')
    const ttl = await redis.pttl('push-test:jti:{dev:a}:jti-aaaaaaaaaaaaaaaa')
    t.ok(ttl > 100_000 && ttl <= 120_000, 'expires once the iat check would refuse it anyway')
  })

  t.test('pairing codes: by hash, taken once, revocable per user', async (t) => {
    const codes = createRedisPairingCodes(redis, { prefix: 'push-test' })
    const userId = uniqueUserId()
    await codes.put('hash-1', { userId, expiresAt: '2026-03-01T12:10:00.000Z' }, 600_000)
    await codes.put('hash-2', { userId, expiresAt: '2026-03-01T12:10:00.000Z' }, 600_000)
    t.same(await codes.peek('hash-1'), { userId, expiresAt: '2026-03-01T12:10:00.000Z' })
    const taken = await Promise.all(Array.from({ length: 5 }, () => codes.take('hash-1')))
    t.equal(taken.filter((g) => g !== undefined).length, 1, 'one winner')
    t.equal(await codes.peek('hash-1'), undefined)
    const ttl = await redis.pttl('push-test:pairing:hash-2')
    t.ok(ttl > 590_000 && ttl <= 600_000)
    await codes.revokeAll(userId)
    t.equal(await codes.take('hash-2'), undefined, 'revoked')
  })

  t.test('challenge store: records, the open list, one winning transition', async (t) => {
    const store = createRedisChallengeStore(redis, { prefix: 'push-test', clock })
    const userId = uniqueUserId()
    const c: PushChallenge = {
      challengeId: `pch_${randomBytes(16).toString('base64url')}`, userId, flowId: FLOW, deviceIds: ['dev_1', 'dev_2'], number: 37,
      nonce: 'n'.repeat(22), context: { appName: 'Payroll', ip: '203.0.113.7' }, action: 'pay', createdAt: '2026-03-01T12:00:00.000Z', expiresAt: '2026-03-01T12:02:00.000Z',
    }
    await store.create(c, 600_000)
    t.same(await store.get(c.challengeId), { challenge: c, state: 'pending' })
    t.same((await store.listOpen(userId, clock.now())).map((r) => r.challenge.challengeId), [c.challengeId])
    t.same(await store.listOpen(userId, new Date('2026-03-01T12:02:00.000Z')), [], 'expired ones are not listed')
    const ttl = await redis.pttl(`push-test:challenge:${c.challengeId}`)
    t.ok(ttl > 715_000 && ttl <= 720_000, 'kept past its expiry for the status')
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.transition(c.challengeId, 'pending', i % 2 === 0 ? 'approved' : 'denied', { deviceId: `dev_${i}`, notMe: true })))
    t.equal(results.filter(Boolean).length, 1, 'exactly one terminal state')
    const rec = await store.get(c.challengeId)
    t.ok(rec?.state === 'approved' || rec?.state === 'denied')
    t.equal(rec?.notMe, true)
    t.ok(await store.transition(c.challengeId, rec?.state ?? 'pending', 'reported') === (rec?.state === 'approved' || rec?.state === 'denied'))
    t.equal(await store.get('pch_nothing'), undefined)
    t.notOk(await store.transition('pch_nothing', 'pending', 'expired'))
  })

  t.test('fatigue breaker rules (Redis)', async (t) => {
    await fatigueRules(t, () => {
      const c = manualClock(new Date('2026-03-01T12:00:00.000Z'))
      return { breaker: createRedisFatigueBreaker(redis, { prefix: `push-test-${randomBytes(4).toString('hex')}`, clock: c }), clock: c }
    })
  })

  t.test('device store on KV: per user, owner index, compare-and-set updates', async (t) => {
    const store = createStoreDeviceStore(await createKvStoreFactory(nc).open<PushRecord>(PUSH_BUCKET))
    const userId = `${uniqueUserId()}.with*odd>chars`
    const device = (n: number): Device => ({
      deviceId: `dev_${n}${randomBytes(12).toString('base64url')}`, userId, name: `Phone ${n}`, platform: 'ios',
      publicKeyJwk: { kty: 'EC', crv: 'P-256', x: 'x'.repeat(43), y: 'y'.repeat(43) }, keyThumbprint: `tp${n}`,
      sealedFcmToken: 'v1.k1.sealed', createdAt: '2026-03-01T12:00:00.000Z', active: true,
    })
    const [a, b] = [device(1), device(2)]
    await store.create(a)
    await store.create(b)
    t.same((await store.list(userId)).map((d) => d.deviceId).sort(), [a.deviceId, b.deviceId].sort())
    t.same(await store.get(userId, a.deviceId), a)
    t.equal(await store.get(uniqueUserId(), a.deviceId), undefined, 'only under its user')
    t.equal(await store.findOwner(a.deviceId), userId)
    const renamed = await Promise.all(['A', 'B', 'C'].map((n) => store.update(userId, a.deviceId, (d) => ({ ...d, name: d.name + n }))))
    t.equal((await store.get(userId, a.deviceId))?.name.length, 'Phone 1'.length + 3, 'parallel updates all apply (compare-and-set retried)')
    t.ok(renamed.every((d) => d !== undefined))
    t.equal(await store.update(userId, 'dev_missingmissingmissing', (d) => d), undefined)
    t.same(await store.remove(userId, a.deviceId), await store.get(userId, a.deviceId) ?? { ...a, name: (renamed[2] as Device).name })
    t.equal(await store.findOwner(a.deviceId), undefined, 'the owner index goes with it')
    t.equal(await store.remove(userId, a.deviceId), undefined)
    t.same((await store.removeAll(userId)).map((d) => d.deviceId), [b.deviceId])
    t.same(await store.list(userId), [])
    t.equal(await store.findOwner(b.deviceId), undefined)
  })
})

t.test('fatigue breaker rules (memory fake)', async (t) => {
  await fatigueRules(t, () => {
    const c = manualClock(new Date('2026-03-01T12:00:00.000Z'))
    return { breaker: memoryFatigueBreaker(c), clock: c }
  })
})

t.test('FCM sender against the fake FCM', async (t) => {
  const fcm = await startFakeFcm(t)
  const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const sleeps: number[] = []
  const warnings: unknown[] = []
  const sender = createFcmPushSender({
    credential: fcm.credential, projectId: fcm.projectId, httpAgent: fcm.agent, maxRetries: 2, retryDelayMs: 250, clock,
    sleep: async (ms) => { sleeps.push(ms); clock.advance(ms) },
    log: { warn: (obj: unknown) => { warnings.push(obj) } },
  })
  t.teardown(() => sender.close())
  const msg = (token: string, ttlMs = 120_000) => ({ token, data: { challengeId: 'pch_1', appName: 'Payroll' }, expiresAt: new Date(clock.now().getTime() + ttlMs), ttlMs })

  t.test('a data message only, high priority, living as long as the challenge', async (t) => {
    t.same(await sender.send(msg('tok-ok', 90_000)), { status: 'sent' })
    const req = fcm.requests.at(-1)
    t.same(req?.message.data, { challengeId: 'pch_1', appName: 'Payroll' })
    t.equal(req?.message.notification, undefined, 'no notification block: data only')
    t.same(req?.message.android, { priority: 'high', ttl: '90s' })
    t.same(req?.message.apns?.headers, { 'apns-push-type': 'background', 'apns-priority': '5', 'apns-expiration': String(Math.floor(clock.now().getTime() / 1000) + 90) })
  })

  t.test('UNREGISTERED and QUOTA_EXCEEDED are answers, not retried', async (t) => {
    fcm.respond('tok-gone', 'UNREGISTERED')
    fcm.respond('tok-quota', 'QUOTA_EXCEEDED')
    const before = fcm.requests.length
    t.same(await sender.send(msg('tok-gone')), { status: 'unregistered' })
    t.same(await sender.send(msg('tok-quota')), { status: 'quota_exceeded' })
    t.equal(fcm.requests.length - before, 2, 'one request each')
  })

  t.test('UNAVAILABLE and INTERNAL are retried at most twice, with a growing delay', async (t) => {
    sleeps.length = 0
    fcm.respond('tok-flaky', 'UNAVAILABLE', 'INTERNAL')
    t.same(await sender.send(msg('tok-flaky')), { status: 'sent' })
    t.same(sleeps, [250, 500])
    t.same(fcm.requests.filter((r) => r.message.token === 'tok-flaky').map((r) => r.outcome), ['UNAVAILABLE', 'INTERNAL', 'ok'])

    fcm.respond('tok-down', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE')
    t.same(await sender.send(msg('tok-down')), { status: 'failed', reason: 'messaging/server-unavailable' })
    t.equal(fcm.requests.filter((r) => r.message.token === 'tok-down').length, 3, 'the first try and two retries')
    t.match(warnings.at(-1), { fcmError: 'messaging/server-unavailable', retries: 2 })
    t.notOk(JSON.stringify(warnings).includes('tok-down'), 'the token is not logged')
  })

  t.test('no retry that could not start before the challenge expires; the TTL shrinks with each retry', async (t) => {
    fcm.respond('tok-late', 'UNAVAILABLE', 'UNAVAILABLE')
    t.same(await sender.send(msg('tok-late', 200)), { status: 'failed', reason: 'messaging/server-unavailable' })
    t.equal(fcm.requests.filter((r) => r.message.token === 'tok-late').length, 1)

    fcm.respond('tok-shrink', 'INTERNAL')
    t.same(await sender.send(msg('tok-shrink', 10_000)), { status: 'sent' })
    t.same(fcm.requests.filter((r) => r.message.token === 'tok-shrink').map((r) => r.message.android?.ttl), ['10s', '9.750000000s'])
  })

  t.test('INVALID_ARGUMENT fails without retries', async (t) => {
    fcm.respond('tok-bad', 'INVALID_ARGUMENT')
    t.same(await sender.send(msg('tok-bad')), { status: 'failed', reason: 'messaging/invalid-argument' })
    t.equal(fcm.requests.filter((r) => r.message.token === 'tok-bad').length, 1)
  })
})

t.test('the service on real Redis, NATS KV and the fake FCM', async (t) => {
  const infra = await startInfra(t)
  const redis = new Redis(infra.redis.url)
  const nc = await connect({ servers: infra.nats.url })
  const fcm = await startFakeFcm(t)
  const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const sender = createFcmPushSender({ credential: fcm.credential, projectId: fcm.projectId, httpAgent: fcm.agent, maxRetries: 2, retryDelayMs: 10, clock })
  t.teardown(async () => { await sender.close(); redis.disconnect(); await nc.close() })
  const numbers: number[] = []
  const random = createCryptoRandomness()
  const push = createPushService({
    devices: createStoreDeviceStore(await createKvStoreFactory(nc).open<PushRecord>(PUSH_BUCKET)),
    pairing: createRedisPairingCodes(redis, { prefix: 'push' }),
    challenges: createRedisChallengeStore(redis, { prefix: 'push', clock }),
    fatigue: createRedisFatigueBreaker(redis, { prefix: 'push', clock }),
    gate: createAttemptGate({ factor: 'push', limiter: createRedisAttemptLimiter(redis, { prefix: 'push', clock }), clock }),
    replay: createRedisReplayLedger(redis, { prefix: 'push' }),
    tokens: createJoseDeviceTokens({ clock }),
    sender,
    cipher: createKeyRingTokenCipher(parseKeyRing(generateKeyRingSpec())),
    random: { ...random, number: () => numbers.shift() ?? random.number() },
    notices: createRedisOutcomeLedger(redis, { prefix: 'push-notice', ttlMs: 60_000 }),
    events: { emit: async () => {} },
    clock,
    pause: async (ms) => { clock.advance(ms) },
    settings: { challengeTtlMs: 120_000, challengeRetainMs: 600_000, pairingTtlMs: 600_000, maxDevices: 10, maxTokenSkewMs: 60_000, notMeWeight: 2, pollIntervalMs: 250 },
  })

  const userId = uniqueUserId()
  const phone = await TestDevice.create(clock)
  const cli = await TestDevice.create(clock)
  const { pairingCode } = await push.createPairing({ userId })
  phone.deviceId = (await push.registerDevice({ jwt: await phone.pairJwt(pairingCode, { fcmToken: 'phone-fcm-token' }) })).deviceId
  await t.rejects(push.registerDevice({ jwt: await cli.pairJwt(pairingCode) }), { code: 'NOT_FOUND' }, 'a reused code')
  const second = await push.createPairing({ userId })
  cli.deviceId = (await push.registerDevice({ jwt: await cli.pairJwt(second.pairingCode, { platform: 'cli' }) })).deviceId

  const notice = { userId, text: 'Warden: a new security key was added to your account. Not you?', link: 'https://id.example.com/ui/#not-me=a.b', idempotencyKey: `evt_${'N'.repeat(22)}` }
  t.same(await push.notify(notice), { reached: 1 }, 'a notice reaches the phone through FCM; the CLI only polls')
  t.same(await push.notify(notice), { reached: 1 }, 'a retry is answered from Redis')
  t.equal(fcm.requests.length, 1, 'sent once')
  t.match(fcm.requests[0]?.message, { token: 'phone-fcm-token', data: { type: 'push.notice', text: notice.text, link: notice.link } })
  fcm.requests.length = 0

  numbers.push(58)
  const { challengeId, numberToMatch } = await push.start({ userId, flowId: FLOW, context: { appName: 'Payroll', ip: '203.0.113.7' } })
  t.equal(numberToMatch, 58)
  t.equal(fcm.requests.length, 1, 'the phone is woken; the CLI polls')
  const wake = fcm.requests[0]
  t.equal(wake?.message.token, 'phone-fcm-token')
  t.equal(wake?.message.data?.challengeId, challengeId)
  t.notOk(JSON.stringify(wake?.message).includes('58'), 'the FCM payload never holds the number')

  const shown = (await push.deviceChallenges({ deviceId: cli.deviceId, jwt: await cli.challengesJwt() })).challenges[0]
  if (shown === undefined) throw new Error('the CLI does not see the challenge')
  const phoneShown = (await push.deviceChallenges({ deviceId: phone.deviceId, jwt: await phone.challengesJwt() })).challenges[0]
  if (phoneShown === undefined) throw new Error('the phone does not see the challenge')
  const [a, b] = await Promise.all([
    push.answer({ challengeId, jwt: await cli.answerJwt(shown, { decision: 'approve', number: 58 }) }),
    push.answer({ challengeId, jwt: await phone.answerJwt(phoneShown, { decision: 'deny' }) }),
  ])
  t.equal([a, b].filter((r) => r.result !== 'rejected').length, 1, 'approve/deny race over Redis: one winner')
  const state = await push.status({ userId, flowId: FLOW, challengeId, waitMs: 0 })
  t.equal(state.state, a.result === 'approved' ? 'approved' : 'denied')

  fcm.respond('phone-fcm-token', 'UNREGISTERED')
  clock.advance(600_000)
  const next = await push.start({ userId, flowId: FLOW, context: { appName: 'Payroll' } })
  t.ok(next.challengeId, 'the CLI still polls')
  t.same((await push.listDevices({ userId })).devices.map((d) => [d.platform, d.active]).sort(), [['android', false], ['cli', true]], 'UNREGISTERED deactivated the phone')
})
