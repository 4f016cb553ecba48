import t from 'tap'
import { randomBytes } from 'node:crypto'
import { connectRedis } from '@warden/service-kit'
import { manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { decideSignin, type Policy, type SigninFacts } from '../src/policy.js'
import { createRememberDeviceStore } from '../src/adapters/remembered-devices.js'
import { createRedisRiskSignals, networkOf } from '../src/adapters/risk-signals.js'

const DAY = 24 * 3600_000

t.test('decideSignin: the policy table', async (t) => {
  const policy = (mode: Policy['mode'], rememberDays = 30): Policy => ({ mode, rememberDays, stepUpMaxAgeSec: 600 })
  const base: SigninFacts = { purpose: 'signin', policy: policy('required'), has2fa: true, rememberedDevice: false, knownNetwork: true, firstSignin: false, recentFailures: false }
  const d = (f: Partial<SigninFacts>) => decideSignin({ ...base, ...f }).status
  // required
  t.equal(d({}), 'challenge')
  t.equal(d({ rememberedDevice: true }), 'skipped')
  t.equal(d({ has2fa: false }), 'enrollment_required')
  // off never switches the user's own 2FA off
  t.equal(d({ policy: policy('off') }), 'challenge')
  t.equal(d({ policy: policy('off'), has2fa: false }), 'not_required')
  t.equal(d({ policy: policy('off'), rememberedDevice: true }), 'skipped')
  // adaptive
  const a = policy('adaptive')
  t.equal(d({ policy: a, has2fa: false }), 'not_required')
  t.equal(d({ policy: a }), 'challenge', 'device not remembered')
  t.equal(d({ policy: a, rememberedDevice: true }), 'skipped', 'low risk')
  t.equal(d({ policy: a, rememberedDevice: true, knownNetwork: false }), 'challenge', 'new network')
  t.equal(d({ policy: a, rememberedDevice: true, recentFailures: true }), 'challenge', 'recent failures')
  t.equal(d({ policy: a, rememberedDevice: true, firstSignin: true }), 'challenge', 'first sign-in counts as new')
  // step-up always asks
  for (const mode of ['required', 'adaptive', 'off'] as const) {
    t.equal(d({ purpose: 'step-up', policy: policy(mode), rememberedDevice: true }), 'challenge', `step-up under ${mode}`)
    t.equal(d({ purpose: 'step-up', policy: policy(mode), has2fa: false }), 'enrollment_required')
  }
})

t.test('networkOf: /24 and /48, never the address', async (t) => {
  t.equal(networkOf('203.0.113.77'), '203.0.113.0/24')
  t.equal(networkOf('::ffff:203.0.113.9'), '203.0.113.0/24')
  t.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48')
  t.equal(networkOf('::1'), '0:0:0::/48')
  t.equal(networkOf('not-an-ip'), undefined)
  t.equal(networkOf(undefined), undefined)
})

t.test('with real Redis', async (t) => {
  const infra = await startInfra(t)
  const redis = await connectRedis(infra.redis.url, 'gw-test')
  t.teardown(() => redis.disconnect())

  await t.test('remember device: issue, use rotates, old token dead, expiry, revoke', async (t) => {
    const clock = manualClock()
    const store = createRememberDeviceStore(redis, { hmacKey: randomBytes(32), clock })
    const user = uniqueUserId()
    const { token, device } = await store.issue(user, { label: 'Firefox on Linux', days: 30 })
    t.match(token, /^rd_[A-Za-z0-9_-]{43}$/)
    const keys = await redis.keys('gw:rd:*')
    t.notOk(keys.some((k) => k.includes(token)), 'only the HMAC of the token is stored')
    const used = await store.use(user, token, 30)
    t.ok(used)
    t.not(used?.token, token, 'rotated')
    t.equal(await store.use(user, token, 30), undefined, 'the old token is spent')
    t.equal(await store.use(uniqueUserId(), used?.token as string, 30), undefined, 'another user cannot use it')
    t.same((await store.list(user)).map((d) => d.id), [device.id])
    clock.advance(10 * DAY)
    t.equal(await store.use(user, used?.token as string, 7), undefined, 'policy rememberDays shorter than the age refuses it')
    const again = await store.use(user, used?.token as string, 30)
    t.ok(again, 'a failed policy check does not spend the token')
    clock.advance(21 * DAY)
    t.equal(await store.use(user, again?.token as string, 30), undefined, 'expired after 30 days')
    t.same(await store.list(user), [])
    const second = await store.issue(user, { label: 'Safari', days: 30 })
    t.equal(await store.revoke(user, second.device.id), true)
    t.equal(await store.revoke(user, second.device.id), false)
    t.equal(await store.use(user, second.token, 30), undefined, 'revoked')
    t.equal(await store.use(user, 'garbage', 30), undefined)
  })

  await t.test('remember device: peek checks like use, without spending or rotating', async (t) => {
    const clock = manualClock()
    const store = createRememberDeviceStore(redis, { hmacKey: randomBytes(32), clock })
    const user = uniqueUserId()
    const { token, device } = await store.issue(user, { label: 'Firefox', days: 30 })
    const keysBefore = (await redis.keys('gw:rd:*')).sort()
    t.same(await store.peek(user, token, 30), device)
    t.same(await store.peek(user, token, 30), device, 'peeking twice is fine')
    t.same((await redis.keys('gw:rd:*')).sort(), keysBefore, 'nothing was written')
    t.equal(await store.peek(uniqueUserId(), token, 30), undefined, 'another user')
    t.equal(await store.peek(user, 'rd_garbage', 30), undefined)
    t.equal(await store.peek(user, token, 0), undefined, 'rememberDays 0 never honours a device')
    clock.advance(8 * DAY)
    t.equal(await store.peek(user, token, 7), undefined, 'older than the policy allows')
    const used = await store.use(user, token, 30)
    t.ok(used, 'the token still works after all those peeks')
    t.equal(await store.peek(user, token, 30), undefined, 'spent')
    t.match(await store.peek(user, used?.token as string, 30), { id: device.id })
    clock.advance(23 * DAY)
    t.equal(await store.peek(user, used?.token as string, 30), undefined, 'expired')
    const other = await store.issue(user, { label: 'x', days: 30 })
    await store.revoke(user, other.device.id)
    t.equal(await store.peek(user, other.token, 30), undefined, 'revoked')
  })

  await t.test('remember device: parallel uses of one token have exactly one winner', async (t) => {
    const store = createRememberDeviceStore(redis, { hmacKey: randomBytes(32), clock: manualClock() })
    const user = uniqueUserId()
    const { token } = await store.issue(user, { label: 'x', days: 30 })
    const results = await Promise.all(Array.from({ length: 20 }, () => store.use(user, token, 30)))
    t.equal(results.filter(Boolean).length, 1)
  })

  await t.test('remember device: revokeAll', async (t) => {
    const store = createRememberDeviceStore(redis, { hmacKey: randomBytes(32), clock: manualClock() })
    const user = uniqueUserId()
    const a = await store.issue(user, { label: 'a', days: 30 })
    await store.issue(user, { label: 'b', days: 30 })
    t.equal(await store.revokeAll(user), 2)
    t.equal(await store.use(user, a.token, 30), undefined)
    t.same(await store.list(user), [])
  })

  await t.test('risk signals: first sign-in, known network, recent failures', async (t) => {
    const clock = manualClock()
    const risk = createRedisRiskSignals(redis, { clock })
    const user = uniqueUserId()
    t.same(await risk.assess(user, '198.51.100.7'), { firstSignin: true, knownNetwork: false, recentFailures: false })
    await risk.recordSuccess(user, '198.51.100.7')
    t.same(await risk.assess(user, '198.51.100.200'), { firstSignin: false, knownNetwork: true, recentFailures: false }, 'same /24')
    t.match(await risk.assess(user, '192.0.2.1'), { knownNetwork: false }, 'other network')
    await risk.recordFailure(user)
    t.match(await risk.assess(user, '198.51.100.7'), { recentFailures: true })
    clock.advance(DAY)
    t.match(await risk.assess(user, '198.51.100.7'), { recentFailures: false }, 'failures age out')
    clock.advance(91 * DAY)
    t.match(await risk.assess(user, '198.51.100.7'), { knownNetwork: false, firstSignin: true }, 'networks age out')
  })
})
