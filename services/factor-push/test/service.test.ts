import { uniqueUserId } from '@warden/testkit'
import t from 'tap'
import { contextHash, displayText } from '../src/context-hash.js'
import { hashPairingCode, createPushService } from '../src/service.js'
import type { PendingChallengeView, StartPushRequest } from '../src/messages.js'
import { fakeDeps, TestDevice, type FakeOptions } from './fakes.js'

const flowId = (n = 1): string => `txn_${String(n).repeat(43).slice(0, 43)}`
const startReq = (userId: string, extra: Partial<StartPushRequest> = {}): StartPushRequest => ({
  userId, flowId: flowId(), context: { appName: 'Payroll', ip: '203.0.113.7', userAgent: 'Firefox on Linux' }, ...extra,
})

/** A service with `devices` paired devices for a fresh user. */
async function paired (opts: FakeOptions & { devices?: number, fcm?: boolean } = {}) {
  const f = fakeDeps(opts)
  const push = createPushService(f.deps)
  const userId = uniqueUserId()
  const devices: TestDevice[] = []
  for (let i = 0; i < (opts.devices ?? 1); i++) {
    const d = await TestDevice.create(f.clock)
    const { pairingCode } = await push.createPairing({ userId })
    const extra = opts.fcm === false ? {} : { fcmToken: `fcm-token-${i}-${userId}` }
    d.deviceId = (await push.registerDevice({ jwt: await d.pairJwt(pairingCode, { name: `Phone ${i}`, ...extra }) })).deviceId
    devices.push(d)
  }
  f.events.length = 0
  return { f, push, userId, devices, device: devices[0] as TestDevice }
}

async function pendingFor (push: ReturnType<typeof createPushService>, d: TestDevice): Promise<PendingChallengeView[]> {
  return (await push.deviceChallenges({ deviceId: d.deviceId, jwt: await d.challengesJwt() })).challenges
}

async function shownTo (push: ReturnType<typeof createPushService>, d: TestDevice, challengeId: string): Promise<PendingChallengeView> {
  const shown = (await pendingFor(push, d)).find((c) => c.challengeId === challengeId)
  if (shown === undefined) throw new Error('setup: the device does not see the challenge')
  return shown
}

async function answer (push: ReturnType<typeof createPushService>, d: TestDevice, challengeId: string, a: { decision: 'approve' | 'deny', number?: number, notMe?: boolean }) {
  const shown = await shownTo(push, d, challengeId)
  return push.answer({ challengeId, jwt: await d.answerJwt(shown, a) })
}

const status = (push: ReturnType<typeof createPushService>, userId: string, challengeId: string, waitMs = 0) =>
  push.status({ userId, flowId: flowId(), challengeId, waitMs })

t.test('the context hash: the vectors packages/authenticator checks too', async (t) => {
  t.equal(contextHash({ challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', createdAt: '2026-03-01T12:00:00.000Z', appName: 'Payroll', ip: '203.0.113.7', userAgent: 'Firefox on Linux', action: 'Pay 1,250 EUR to ACME' }), 'SQnKjn5a8Y5TxX0dxcj6LNl67XPfNQzL96W4gk4GXpo')
  t.equal(contextHash({ challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', createdAt: '2026-03-01T12:00:00.000Z', appName: 'Café Ünïcode' }), 'OHAkKNrRaVnnJkqIceLEzDd1JemhHQqM9vtdf6yumrk')
  t.equal(displayText('Evil\napp\u2028name\t '), 'Evil app name', 'no line breaks survive into a displayed field')
})

t.test('pairing', async (t) => {
  t.test('a 128-bit code, 10 minutes, stored only as its hash; the app pairs with a key it proves it holds', async (t) => {
    const f = fakeDeps()
    const push = createPushService(f.deps)
    const userId = uniqueUserId()
    const { pairingCode, expiresAt } = await push.createPairing({ userId })
    t.match(pairingCode, /^[A-Za-z0-9_-]{22}$/, '16 bytes = 128 bits')
    t.equal(expiresAt, '2026-03-01T12:10:00.000Z')
    t.same([...f.pairing.codes.keys()], [hashPairingCode(pairingCode)], 'only the hash is stored')
    t.notOk(JSON.stringify([...f.pairing.codes]).includes(pairingCode))

    const d = await TestDevice.create(f.clock)
    const { deviceId } = await push.registerDevice({ jwt: await d.pairJwt(pairingCode, { name: 'Pixel\n8', fcmToken: 'secret-fcm-token' }) })
    t.match(deviceId, /^dev_/)
    const stored = f.devices.devices.get(deviceId)
    t.equal(stored?.userId, userId)
    t.equal(stored?.name, 'Pixel 8', 'control characters become spaces')
    t.same(stored?.publicKeyJwk, { kty: 'EC', crv: 'P-256', x: d.publicJwk.x, y: d.publicJwk.y })
    t.notOk(JSON.stringify(stored).includes('secret-fcm-token'), 'the FCM token is sealed at rest')
    t.match(f.events, [{ subject: 'warden.events.v1.factor.enrolled', body: { userId, factor: 'push', itemId: deviceId } }])
    t.same((await push.listDevices({ userId })).devices, [{ deviceId, name: 'Pixel 8', platform: 'android', createdAt: '2026-03-01T12:00:00.000Z', active: true, notifications: true }])
  })

  t.test('a code works once: a reuse, or a second app racing for it, is refused', async (t) => {
    const f = fakeDeps()
    const push = createPushService(f.deps)
    const userId = uniqueUserId()
    const { pairingCode } = await push.createPairing({ userId })
    const [a, b, c] = await Promise.all([TestDevice.create(f.clock), TestDevice.create(f.clock), TestDevice.create(f.clock)])
    const results = await Promise.allSettled([a, b].map(async (d) => push.registerDevice({ jwt: await d.pairJwt(pairingCode) })))
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one wins')
    t.match(results.find((r) => r.status === 'rejected'), { reason: { code: 'NOT_FOUND' } })
    await t.rejects(push.registerDevice({ jwt: await c.pairJwt(pairingCode) }), { code: 'NOT_FOUND' }, 'used up')
    t.equal(f.devices.devices.size, 1)
  })

  t.test('an expired code is refused (clock moved past 10 minutes)', async (t) => {
    const f = fakeDeps()
    const push = createPushService(f.deps)
    const { pairingCode } = await push.createPairing({ userId: uniqueUserId() })
    f.clock.advance(600_000)
    const d = await TestDevice.create(f.clock)
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode) }), { code: 'ENROLLMENT_EXPIRED' })
    t.equal(f.devices.devices.size, 0)
  })

  t.test('refuses what does not prove a P-256 key, and malformed claims, without using the code', async (t) => {
    const f = fakeDeps()
    const push = createPushService(f.deps)
    const { pairingCode } = await push.createPairing({ userId: uniqueUserId() })
    const d = await TestDevice.create(f.clock)
    const other = await TestDevice.create(f.clock)
    await t.rejects(push.registerDevice({ jwt: 'not.a.jwt' }), { code: 'UNAUTHENTICATED' })
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, {}, { key: other.privateKey }) }), { code: 'UNAUTHENTICATED' }, 'signed by another key than the one in the header')
    await t.rejects(push.registerDevice({ jwt: await d.sign({ req: 'pair', pairingCode, name: 'x', platform: 'cli' }) }), { code: 'UNAUTHENTICATED' }, 'no key in the header')
    const { privateKey } = await import('jose').then(async (jose) => jose.generateKeyPair('ES256', { extractable: true }))
    const privateJwk = await (await import('jose')).exportJWK(privateKey)
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, {}, { header: { jwk: privateJwk } }) }), { code: 'UNAUTHENTICATED' }, 'a private key is never accepted')
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, { platform: 'windows-phone' }) }), { code: 'UNAUTHENTICATED' })
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, { name: '' }) }), { code: 'UNAUTHENTICATED' })
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, { extra: 1 }) }), { code: 'UNAUTHENTICATED' })
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, { req: 'answer' }) }), { code: 'UNAUTHENTICATED' }, 'a token for another request')
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, {}, { iatOffsetSec: -61 }) }), { code: 'UNAUTHENTICATED' }, 'iat too old')
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode, {}, { iatOffsetSec: 61 }) }), { code: 'UNAUTHENTICATED' }, 'iat in the future')
    t.equal(f.pairing.codes.size, 1, 'the code is still there')
    const jwt = await d.pairJwt(pairingCode)
    await push.registerDevice({ jwt })
    await t.rejects(push.registerDevice({ jwt }), { code: 'UNAUTHENTICATED', message: /used before/ }, 'a replayed pairing request')
  })

  t.test('one key pairs once; at most maxDevices devices', async (t) => {
    const { f, push, userId, device } = await paired({ devices: 2 })
    const { pairingCode } = await push.createPairing({ userId })
    await t.rejects(push.registerDevice({ jwt: await device.pairJwt(pairingCode) }), { code: 'CONFLICT' })
    const small = createPushService({ ...f.deps, settings: { ...f.deps.settings, maxDevices: 2 } })
    const d = await TestDevice.create(f.clock)
    await t.rejects(small.registerDevice({ jwt: await d.pairJwt(pairingCode) }), { code: 'LIMIT_REACHED' })
    t.equal(f.pairing.codes.size, 1, 'a refused pairing leaves the code usable')
  })
})

t.test('a push challenge', async (t) => {
  t.test('number matching: the number goes to the sign-in screen only; FCM gets a data message with the context', async (t) => {
    const { f, push, userId, devices } = await paired({ devices: 2 })
    f.numbers.push(73)
    const res = await push.start(startReq(userId, { action: 'Pay 1,250 EUR to ACME' }))
    t.same(res, { challengeId: res.challengeId, expiresAt: '2026-03-01T12:02:00.000Z', numberToMatch: 73 })
    t.equal(f.fcm.sent.length, 2, 'every active device is woken')
    for (const m of f.fcm.sent) {
      t.same(m.data, {
        v: '1', type: 'push.challenge', challengeId: res.challengeId, createdAt: '2026-03-01T12:00:00.000Z', expiresAt: res.expiresAt,
        appName: 'Payroll', ip: '203.0.113.7', userAgent: 'Firefox on Linux', action: 'Pay 1,250 EUR to ACME',
      })
      t.equal(m.ttlMs, 120_000, 'lives as long as the challenge')
      t.notOk(Object.values(m.data).includes('73'), 'never the number')
      t.notOk(JSON.stringify(m.data).includes(f.challenges.records.get(res.challengeId)?.challenge.nonce ?? '?'), 'never the nonce')
    }
    t.same(f.fcm.sent.map((m) => m.token).sort(), devices.map((_, i) => `fcm-token-${i}-${userId}`).sort())
    const shown = await pendingFor(push, devices[1] as TestDevice)
    t.same(shown, [{
      challengeId: res.challengeId, nonce: shown[0]?.nonce, createdAt: '2026-03-01T12:00:00.000Z', expiresAt: res.expiresAt,
      context: { appName: 'Payroll', ip: '203.0.113.7', userAgent: 'Firefox on Linux', action: 'Pay 1,250 EUR to ACME' },
    }])
    t.notOk(JSON.stringify(shown).includes('73'), 'the app never sees the number')
  })

  t.test('approve with the right number: approved, reported once with the bound action', async (t) => {
    const { f, push, userId, device } = await paired()
    f.numbers.push(42)
    const { challengeId } = await push.start(startReq(userId, { action: 'delete-account' }))
    t.same(await status(push, userId, challengeId), { state: 'pending' })
    t.same(await answer(push, device, challengeId, { decision: 'approve', number: 42 }), { result: 'approved' })
    t.same(await status(push, userId, challengeId), { state: 'approved', action: 'delete-account' })
    await t.rejects(status(push, userId, challengeId), { code: 'CONFLICT' }, 'an approval completes one sign-in')
    t.same(await pendingFor(push, device), [], 'no longer pending')
  })

  t.test('deny, and deny with "not me"', async (t) => {
    const { f, push, userId, device } = await paired()
    const a = await push.start(startReq(userId))
    t.same(await answer(push, device, a.challengeId, { decision: 'deny' }), { result: 'denied' })
    t.same(f.events, [{
      subject: 'warden.events.v1.push.denied',
      body: { userId, deviceId: device.deviceId, notMe: false, context: { ip: '203.0.113.7', userAgent: 'Firefox on Linux' } },
    }], 'push.denied for the feed and the audit, with where the sign-in came from')
    t.same(await status(push, userId, a.challengeId), { state: 'denied', reason: 'denied' })
    t.same(await status(push, userId, a.challengeId), { state: 'denied', reason: 'denied' }, 'a denial can be read again')

    const other = await paired()
    const b = await other.push.start(startReq(other.userId))
    t.same(await answer(other.push, other.device, b.challengeId, { decision: 'deny', notMe: true }), { result: 'denied' })
    t.same(await status(other.push, other.userId, b.challengeId), { state: 'denied', reason: 'not_me' })
    t.match(other.f.events[0], { subject: 'warden.events.v1.push.denied', body: { userId: other.userId, notMe: true } })
    t.equal(other.f.events.filter((e) => e.subject === 'warden.events.v1.push.denied').length, 1, 'one event per denial')
  })

  t.test('a wrong number fails the challenge and counts toward the attempt gate; a missing one changes nothing', async (t) => {
    const { f, push, userId, device } = await paired()
    f.numbers.push(42)
    const { challengeId } = await push.start(startReq(userId))
    const shown = await shownTo(push, device, challengeId)
    await t.rejects(push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve' }) }), { code: 'UNAUTHENTICATED' }, 'no number')
    await t.rejects(push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve', number: 100 }) }), { code: 'UNAUTHENTICATED' }, 'not two digits')
    t.equal(f.challenges.records.get(challengeId)?.state, 'pending', 'malformed answers leave it pending')
    t.same(await push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve', number: 24 }) }), { result: 'rejected', reason: 'wrong_number', attemptsLeft: 9 })
    t.same(await status(push, userId, challengeId), { state: 'denied', reason: 'wrong_number' })
    t.same(await push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve', number: 42 }) }), { result: 'rejected', reason: 'already_answered' }, 'the right number is too late now')
    t.equal(f.limiter.state.get(userId)?.consecutive, 1)
  })

  t.test('wrong numbers lock push; while locked even the right number is refused, and no push goes out', async (t) => {
    const { f, push, userId, device } = await paired({
      limits: { maxFailures: 3, windowMs: 900_000, lockMs: 900_000, suspendAfter: 100, freeFailures: 10 },
      fatigue: { maxPerWindow: 100, windowMs: 600_000, denialsToPause: 2, denialWindowMs: 3_600_000, pauseMs: 3_600_000 },
    })
    for (let i = 0; i < 3; i++) {
      const { challengeId } = await push.start(startReq(userId))
      const r = await answer(push, device, challengeId, { decision: 'approve', number: 11 })
      t.match(r, { result: 'rejected', reason: 'wrong_number', attemptsLeft: 2 - i })
    }
    t.match(f.events, [{ subject: 'warden.events.v1.factor.locked', body: { userId, factor: 'push', lockedUntil: '2026-03-01T12:15:00.000Z' } }])
    await t.rejects(push.start(startReq(userId)), { code: 'FACTOR_LOCKED', retryAfterSec: 900 })
    t.match(await push.describe({ userId }), { enrolled: true, lockedUntil: '2026-03-01T12:15:00.000Z', lockReason: 'too_many_wrong_numbers' })
    f.clock.advance(900_000)
    const { challengeId } = await push.start(startReq(userId))
    t.same(await answer(push, device, challengeId, { decision: 'approve', number: 42 }), { result: 'approved' })
  })

  t.test('expiry, with a moved clock: late answers refused, the status says expired, the slot frees', async (t) => {
    const { f, push, userId, device } = await paired()
    const { challengeId } = await push.start(startReq(userId))
    const shown = await shownTo(push, device, challengeId)
    f.clock.advance(120_000)
    t.same(await pendingFor(push, device), [], 'no longer offered')
    t.same(await push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve', number: 42 }) }), { result: 'rejected', reason: 'expired' })
    t.same(await status(push, userId, challengeId), { state: 'expired' })
    t.equal(f.challenges.records.get(challengeId)?.state, 'expired')
    t.match(await push.start(startReq(userId, { flowId: flowId(2) })), { numberToMatch: 42 }, '"Try push again" makes a new challenge')
  })

  t.test('the status long-poll waits for the answer, and gives up after waitMs', async (t) => {
    const { f, push, userId, device } = await paired()
    const { challengeId } = await push.start(startReq(userId))
    const before = f.clock.now().getTime()
    t.same(await status(push, userId, challengeId, 1000), { state: 'pending' })
    t.equal(f.clock.now().getTime() - before, 1000, 'looked every 250 ms for 1 s')
    const shown = await shownTo(push, device, challengeId)
    const deps = { ...f.deps, pause: async (ms: number) => { f.clock.advance(ms); if (f.clock.now().getTime() - before > 1500) await push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'deny' }) }) } }
    t.same(await createPushService(deps).status({ userId, flowId: flowId(), challengeId, waitMs: 20_000 }), { state: 'denied', reason: 'denied' })
    t.ok(f.clock.now().getTime() - before < 3000, 'answered as soon as the state changed')
    const late = await push.start(startReq(userId, { flowId: flowId(3) }))
    t.same(await push.status({ userId, flowId: flowId(3), challengeId: late.challengeId, waitMs: 200_000 }), { state: 'expired' }, 'a wait past the expiry ends expired')
    await t.rejects(push.status({ userId: uniqueUserId(), flowId: flowId(3), challengeId: late.challengeId, waitMs: 0 }), { code: 'NOT_FOUND' }, 'another user')
    await t.rejects(push.status({ userId, flowId: flowId(4), challengeId: late.challengeId, waitMs: 0 }), { code: 'NOT_FOUND' }, 'another transaction')
  })

  t.test('refuses replayed, forged, foreign, removed-device and stale answers', async (t) => {
    const { f, push, userId, devices } = await paired({ devices: 2 })
    const [device, second] = devices as [TestDevice, TestDevice]
    // Another user's device, paired with the same service.
    const stranger = await TestDevice.create(f.clock)
    const { pairingCode } = await push.createPairing({ userId: uniqueUserId() })
    stranger.deviceId = (await push.registerDevice({ jwt: await stranger.pairJwt(pairingCode) })).deviceId
    const { challengeId } = await push.start(startReq(userId))
    const shown = await shownTo(push, device, challengeId)

    const forger = await TestDevice.create(f.clock)
    forger.deviceId = device.deviceId
    await t.rejects(push.answer({ challengeId, jwt: await forger.answerJwt(shown, { decision: 'approve', number: 42 }) }), { code: 'UNAUTHENTICATED', message: /bad signature/ }, 'forged: another key')
    await t.rejects(push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve', number: 42 }, { alg: 'HS256', key: new TextEncoder().encode('k'.repeat(32)) as never }) }), { code: 'UNAUTHENTICATED' }, 'forged: HS256')
    await t.rejects(push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve', number: 42 }, { iatOffsetSec: -61 }) }), { code: 'UNAUTHENTICATED', message: /iat/ }, 'stale')
    await t.rejects(push.answer({ challengeId, jwt: await stranger.answerJwt(shown, { decision: 'approve', number: 42 }) }), { code: 'NOT_FOUND' }, 'foreign: another user\'s device')
    await t.rejects(push.answer({ challengeId, jwt: await device.challengesJwt() }), { code: 'UNAUTHENTICATED' }, 'a token for another request')

    await push.removeDevice({ userId, deviceId: second.deviceId })
    await t.rejects(push.answer({ challengeId, jwt: await second.answerJwt(shown, { decision: 'approve', number: 42 }) }), { code: 'UNAUTHENTICATED', message: /unknown device/ }, 'a removed device')
    t.equal(f.challenges.records.get(challengeId)?.state, 'pending', 'none of them changed anything')

    const jwt = await device.answerJwt(shown, { decision: 'deny' })
    t.same(await push.answer({ challengeId, jwt }), { result: 'denied' })
    await t.rejects(push.answer({ challengeId, jwt }), { code: 'UNAUTHENTICATED', message: /used before/ }, 'replayed')
    await t.rejects(push.answer({ challengeId: 'pch_BBBBBBBBBBBBBBBBBBBBBB', jwt: await device.answerJwt(shown, { decision: 'deny' }) }), { code: 'UNAUTHENTICATED' }, 'the path names another challenge than the token')
  })

  t.test('transaction binding: an answer over a context other than the stored one is refused', async (t) => {
    const { f, push, userId, device } = await paired()
    const { challengeId } = await push.start(startReq(userId, { action: 'Pay 10 EUR to Alice' }))
    const shown = await shownTo(push, device, challengeId)
    const rec = f.challenges.records.get(challengeId)
    if (rec === undefined) throw new Error('setup')
    // The server-side context changes after the app displayed it (or the app was shown another one).
    f.challenges.records.set(challengeId, { ...rec, challenge: { ...rec.challenge, action: 'Pay 10000 EUR to Mallory' } })
    t.same(await push.answer({ challengeId, jwt: await device.answerJwt(shown, { decision: 'approve', number: 42 }) }), { result: 'rejected', reason: 'context_mismatch' })
    f.challenges.records.set(challengeId, rec)
    t.same(await push.answer({ challengeId, jwt: await device.answerJwt({ ...shown, context: { ...shown.context, ip: '198.51.100.1' } }, { decision: 'approve', number: 42 }) }), { result: 'rejected', reason: 'context_mismatch' }, 'displayed another IP')
    t.same(await push.answer({ challengeId, jwt: await device.answerJwt({ ...shown, nonce: 'A'.repeat(22) }, { decision: 'approve', number: 42 }) }), { result: 'rejected', reason: 'context_mismatch' }, 'another nonce')
    t.equal(f.challenges.records.get(challengeId)?.state, 'pending')
    t.same(await answer(push, device, challengeId, { decision: 'approve', number: 42 }), { result: 'approved' })
  })

  t.test('the approve/deny race: exactly one terminal state', async (t) => {
    for (let i = 0; i < 5; i++) {
      const { f, push, userId, devices } = await paired({ devices: 2 })
      const { challengeId } = await push.start(startReq(userId))
      const [a, b] = devices as [TestDevice, TestDevice]
      const [sa, sb] = await Promise.all([shownTo(push, a, challengeId), shownTo(push, b, challengeId)])
      const results = await Promise.all([
        push.answer({ challengeId, jwt: await a.answerJwt(sa, { decision: 'approve', number: 42 }) }),
        push.answer({ challengeId, jwt: await b.answerJwt(sb, { decision: 'deny' }) }),
      ])
      const winners = results.filter((r) => r.result !== 'rejected')
      t.equal(winners.length, 1, 'one answer wins')
      t.match(results.filter((r) => r.result === 'rejected'), [{ reason: 'already_answered' }])
      const state = f.challenges.records.get(challengeId)?.state
      t.equal(state, winners[0]?.result === 'approved' ? 'approved' : 'denied', 'the stored state is the winner\'s')
    }
  })

  t.test('an app sees only its own pending challenges, with a request signed by itself', async (t) => {
    const { f, push, userId, devices } = await paired({ devices: 2 })
    const [a, b] = devices as [TestDevice, TestDevice]
    const { challengeId } = await push.start(startReq(userId, { deviceId: b.deviceId }))
    t.same(await pendingFor(push, a), [], 'not asked')
    t.equal((await pendingFor(push, b))[0]?.challengeId, challengeId)
    await t.rejects(push.deviceChallenges({ deviceId: b.deviceId, jwt: await a.challengesJwt() }), { code: 'UNAUTHENTICATED' }, 'signed by another device')
    const jwt = await b.challengesJwt()
    await push.deviceChallenges({ deviceId: b.deviceId, jwt })
    await t.rejects(push.deviceChallenges({ deviceId: b.deviceId, jwt }), { code: 'UNAUTHENTICATED' }, 'a replayed poll')
    await t.rejects(push.deviceChallenges({ deviceId: b.deviceId, jwt: await b.sign({ req: 'challenges', sub: b.deviceId, extra: true }) }), { code: 'UNAUTHENTICATED' })
    t.equal(f.fcm.sent.length, 1, 'only the chosen device was woken')
    await t.rejects(push.start(startReq(userId, { deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA' })), { code: 'NOT_FOUND' })
  })
})

t.test('the fatigue breaker', async (t) => {
  t.test('one open push per user: the same sign-in gets its own push back, another is refused', async (t) => {
    const { f, push, userId } = await paired()
    const first = await push.start(startReq(userId))
    t.same(await push.start(startReq(userId)), first, 'a reload of the same sign-in')
    await t.rejects(push.start(startReq(userId, { flowId: flowId(2) })), { code: 'RATE_LIMITED', retryAfterSec: 120 })
    t.equal(f.fcm.sent.length, 1, 'one notification')
  })

  t.test('at most 3 per 10 minutes', async (t) => {
    const { f, push, userId, device } = await paired()
    for (let i = 0; i < 3; i++) {
      const { challengeId } = await push.start(startReq(userId, { flowId: flowId(i + 1) }))
      await answer(push, device, challengeId, { decision: 'approve', number: 42 })
      f.clock.advance(60_000)
    }
    await t.rejects(push.start(startReq(userId, { flowId: flowId(4) })), { code: 'RATE_LIMITED', retryAfterSec: 420 })
    f.clock.advance(420_000)
    t.ok(await push.start(startReq(userId, { flowId: flowId(4) })), 'the oldest left the window')
  })

  t.test('2 denials in an hour pause push for an hour, with an event, and describe says why', async (t) => {
    const { f, push, userId, device } = await paired()
    const a = await push.start(startReq(userId))
    await answer(push, device, a.challengeId, { decision: 'deny' })
    const paused = () => f.events.filter((e) => e.subject === 'warden.events.v1.push.paused')
    t.same(paused(), [], 'one denial is not a pattern')
    f.clock.advance(30 * 60_000)
    const b = await push.start(startReq(userId, { flowId: flowId(2) }))
    await answer(push, device, b.challengeId, { decision: 'deny' })
    t.match(paused(), [{ subject: 'warden.events.v1.push.paused', body: { userId, pausedUntil: '2026-03-01T13:30:00.000Z', notMe: false } }])
    await t.rejects(push.start(startReq(userId, { flowId: flowId(3) })), { code: 'FACTOR_LOCKED', retryAfterSec: 3600 })
    t.match(await push.describe({ userId }), { enrolled: true, lockedUntil: '2026-03-01T13:30:00.000Z', lockReason: 'paused_after_denials' })
    f.clock.advance(3600_000)
    t.ok(await push.start(startReq(userId, { flowId: flowId(3) })), 'back after an hour')
    t.notOk((await push.describe({ userId })).lockReason)
  })

  t.test('"this wasn\'t me" counts double: one pauses push, and the event says so', async (t) => {
    const { f, push, userId, device } = await paired()
    const a = await push.start(startReq(userId))
    await answer(push, device, a.challengeId, { decision: 'deny', notMe: true })
    t.match(f.events.filter((e) => e.subject === 'warden.events.v1.push.paused'), [{ subject: 'warden.events.v1.push.paused', body: { userId, pausedUntil: '2026-03-01T13:00:00.000Z', notMe: true } }])
    await t.rejects(push.start(startReq(userId, { flowId: flowId(2) })), { code: 'FACTOR_LOCKED' })
  })

  t.test('denials more than an hour apart do not pause', async (t) => {
    const { f, push, userId, device } = await paired()
    const a = await push.start(startReq(userId))
    await answer(push, device, a.challengeId, { decision: 'deny' })
    f.clock.advance(3600_000)
    const b = await push.start(startReq(userId, { flowId: flowId(2) }))
    await answer(push, device, b.challengeId, { decision: 'deny' })
    t.same(f.events.map((e) => e.subject), ['warden.events.v1.push.denied', 'warden.events.v1.push.denied'], 'two denials, no pause')
  })
})

t.test('delivery', async (t) => {
  t.test('UNREGISTERED deactivates the device; with none left the method is gone', async (t) => {
    const { f, push, userId, devices } = await paired({ devices: 2 })
    f.fcm.results.set(`fcm-token-0-${userId}`, { status: 'unregistered' })
    const { challengeId } = await push.start(startReq(userId))
    t.ok(challengeId, 'the other device got it')
    const gone = f.devices.devices.get((devices[0] as TestDevice).deviceId)
    t.equal(gone?.active, false)
    t.equal(gone?.sealedFcmToken, undefined, 'its token is dropped')
    t.same((await push.describe({ userId })).items.map((i) => i.id), [(devices[1] as TestDevice).deviceId])
    await t.rejects(pendingFor(push, devices[0] as TestDevice), { code: 'UNAUTHENTICATED' }, 'a deactivated device is not heard')
  })

  t.test('QUOTA_EXCEEDED answers PROVIDER_UNAVAILABLE and holds no slot', async (t) => {
    const { f, push, userId } = await paired()
    f.fcm.results.set(`fcm-token-0-${userId}`, { status: 'quota_exceeded' })
    await t.rejects(push.start(startReq(userId)), { code: 'PROVIDER_UNAVAILABLE' })
    const [rec] = f.challenges.records.values()
    t.equal(rec?.state, 'cancelled')
    f.fcm.results.clear()
    t.ok(await push.start(startReq(userId, { flowId: flowId(2) })), 'no open push left behind, and the window did not count it')
    t.ok(await push.start(startReq(userId, { flowId: flowId(2) })))
  })

  t.test('a device that only polls is reachable whatever FCM says', async (t) => {
    const { f, push, userId, device } = await paired({ fcm: false })
    t.equal((await push.listDevices({ userId })).devices[0]?.notifications, false)
    const { challengeId } = await push.start(startReq(userId))
    t.equal(f.fcm.sent.length, 0)
    t.same(await answer(push, device, challengeId, { decision: 'approve', number: 42 }), { result: 'approved' })
  })

  t.test('polling without FCM at all', async (t) => {
    const { push, userId, device } = await paired({ noSender: true })
    const { challengeId } = await push.start(startReq(userId))
    t.same(await answer(push, device, challengeId, { decision: 'approve', number: 42 }), { result: 'approved' })
    t.match(await status(push, userId, challengeId), { state: 'approved' })
  })
})

t.test('devices and the factor', async (t) => {
  t.test('describe lists the active devices by name', async (t) => {
    const { push, userId, devices } = await paired({ devices: 2 })
    t.same(await push.describe({ userId }), {
      factor: 'push', enrolled: true, createdAt: '2026-03-01T12:00:00.000Z',
      items: devices.map((d, i) => ({ id: d.deviceId, label: `Phone ${i}`, createdAt: '2026-03-01T12:00:00.000Z' })),
    })
    t.same(await push.describe({ userId: uniqueUserId() }), { factor: 'push', enrolled: false, items: [] })
  })

  t.test('rename and remove one device; another user cannot', async (t) => {
    const { f, push, userId, device } = await paired()
    t.match(await push.renameDevice({ userId, deviceId: device.deviceId, name: '  Work phone ' }), { name: 'Work phone' })
    await t.rejects(push.renameDevice({ userId, deviceId: device.deviceId, name: '\n' }), { code: 'BAD_REQUEST' })
    await t.rejects(push.renameDevice({ userId: uniqueUserId(), deviceId: device.deviceId, name: 'Mine' }), { code: 'NOT_FOUND' })
    t.same(await push.removeDevice({ userId: uniqueUserId(), deviceId: device.deviceId }), { removed: false })
    t.same(await push.removeDevice({ userId, deviceId: device.deviceId }), { removed: true })
    t.match(f.events, [{ subject: 'warden.events.v1.factor.removed', body: { userId, factor: 'push', itemId: device.deviceId } }])
    t.same(await push.describe({ userId }), { factor: 'push', enrolled: false, items: [] })
    await t.rejects(push.start(startReq(userId)), { code: 'NOT_ENROLLED' })
  })

  t.test('remove and reset forget devices, pending pairing codes and the breaker', async (t) => {
    const { f, push, userId, device } = await paired({ devices: 2 })
    const { pairingCode } = await push.createPairing({ userId })
    t.same(await push.remove({ userId }), { removed: true })
    t.equal(f.events.length, 2)
    const d = await TestDevice.create(f.clock)
    await t.rejects(push.registerDevice({ jwt: await d.pairJwt(pairingCode) }), { code: 'NOT_FOUND' }, 'a code made before the removal')

    const again = await paired()
    const a = await again.push.start(startReq(again.userId))
    await answer(again.push, again.device, a.challengeId, { decision: 'deny', notMe: true })
    await again.push.reset(again.userId)
    t.same(await again.push.describe({ userId: again.userId }), { factor: 'push', enrolled: false, items: [] })
    t.equal(await again.f.deps.fatigue.pausedUntil(again.userId), undefined)
    t.ok(device)
  })
})

t.test('notify: a notice to the user\'s own devices, not a sign-in request', async (t) => {
  const notice = { text: 'Warden: your phone number was removed. Not you?', link: 'https://id.example.com/ui/#not-me=abc.def' }

  t.test('an FCM data message to every active device with a token; the count answered', async (t) => {
    const { f, push, userId, device } = await paired({ devices: 2 })
    t.same(await push.notify({ userId, ...notice }), { reached: 2 })
    t.equal(f.fcm.sent.length, 2)
    t.same(f.fcm.sent[0]?.data, { v: '1', type: 'push.notice', ...notice }, 'the text and the link, nothing else')
    t.same(await pendingFor(push, device), [], 'no challenge was made')
  })

  t.test('devices that only poll, none at all, or no FCM: 0 reached', async (t) => {
    const polling = await paired({ fcm: false })
    t.same(await polling.push.notify({ userId: polling.userId, ...notice }), { reached: 0 })
    const f = fakeDeps()
    t.same(await createPushService(f.deps).notify({ userId: uniqueUserId(), text: 'x' }), { reached: 0 })
    const noFcm = await paired({ noSender: true })
    t.same(await noFcm.push.notify({ userId: noFcm.userId, ...notice }), { reached: 0 })
  })

  t.test('the same idempotency key sends once', async (t) => {
    const { f, push, userId } = await paired()
    const req = { userId, ...notice, idempotencyKey: 'evt_AAAAAAAAAAAAAAAAAAAAAA' }
    t.same(await push.notify(req), { reached: 1 })
    t.same(await push.notify(req), { reached: 1 }, 'answered from the record')
    t.equal(f.fcm.sent.length, 1)
  })

  t.test('an app FCM says is gone is deactivated; FCM failing everywhere is PROVIDER_UNAVAILABLE (retried)', async (t) => {
    const { f, push, userId } = await paired({ devices: 2 })
    f.fcm.results.set(`fcm-token-0-${userId}`, { status: 'unregistered' })
    t.same(await push.notify({ userId, ...notice }), { reached: 1 })
    t.same((await push.listDevices({ userId })).devices.map((d) => d.active), [false, true])
    f.fcm.results.set(`fcm-token-1-${userId}`, { status: 'failed', reason: 'HTTP 503' })
    await t.rejects(push.notify({ userId, ...notice }), { code: 'PROVIDER_UNAVAILABLE' })
  })
})
