import t, { type Test } from 'tap'
import { manualClock, startRedis, uniqueUserId } from '@warden/testkit'
import {
  claimGreater, connectRedis, createMemoryAttemptLimiter, createRedisAttemptLimiter, DEFAULT_ATTEMPT_LIMITS, throttleMs,
  type AttemptLimiter, type AttemptLimits,
} from '../src/index.js'

type MakeLimiter = (clock: ReturnType<typeof manualClock>, limits?: AttemptLimits) => AttemptLimiter

/** Fails once and waits out the throttle it causes (unless it locked), as a patient person would. */
async function failAndWait (limiter: AttemptLimiter, user: string, clock: ReturnType<typeof manualClock>, failures: number): Promise<number> {
  const f = await limiter.fail(user)
  if (f.lockedUntil === undefined) clock.advance(throttleMs(failures, DEFAULT_ATTEMPT_LIMITS))
  return f.attemptsLeft
}

/** The attempt limiter's rules (SECURITY.md §1-2), run against Redis and against memory. */
async function limiterRules (t: Test, make: MakeLimiter): Promise<void> {
  await t.test('10 failures lock for 15 minutes, even the right secret; the lock does not grow', async (t) => {
    const clock = manualClock()
    const limiter = make(clock)
    const user = uniqueUserId()
    for (let i = 1; i <= 10; i++) {
      t.same(await limiter.begin(user), { allowed: true, attempt: i })
      t.equal(await failAndWait(limiter, user, clock, i), 10 - i)
    }
    const locked = await limiter.begin(user)
    t.match(locked, { allowed: false, reason: 'locked' })
    const until = (locked as { lockedUntil: Date }).lockedUntil.getTime()
    t.ok(until > clock.now().getTime() + 14 * 60_000, 'about 15 minutes from the 10th failure')
    clock.advance(60_000)
    t.match(await limiter.begin(user), { allowed: false, reason: 'locked', lockedUntil: new Date(until) }, 'the lock does not grow while locked')
    clock.set(new Date(until))
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 }, 'usable again after 15 minutes')
  })

  await t.test('3 failures are free; then 2, 4, 8 … s between attempts, not counted while waiting', async (t) => {
    const clock = manualClock()
    const limiter = make(clock)
    const user = uniqueUserId()
    for (let i = 1; i <= 3; i++) { t.ok((await limiter.begin(user)).allowed, `attempt ${i} at once`); await limiter.fail(user) }
    t.ok((await limiter.begin(user)).allowed, 'the 4th at once too')
    await limiter.fail(user)
    const early = await limiter.begin(user)
    t.same(early, { allowed: false, reason: 'throttled', retryAt: new Date(clock.now().getTime() + 2_000) }, 'after the 4th failure: 2 s')
    t.match(await limiter.begin(user), { reason: 'throttled' }, 'asking again does not help')
    clock.advance(2_000)
    t.same(await limiter.begin(user), { allowed: true, attempt: 5 }, 'the refused ones were not counted')
    await limiter.fail(user)
    clock.advance(3_999)
    t.match(await limiter.begin(user), { reason: 'throttled' }, 'after the 5th: 4 s')
    clock.advance(1)
    t.ok((await limiter.begin(user)).allowed)
    await limiter.succeed(user)
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 }, 'a success ends the waits')
  })

  await t.test('a success resets; the window slides out old failures', async (t) => {
    const clock = manualClock()
    const limiter = make(clock)
    const user = uniqueUserId()
    for (let i = 1; i <= 9; i++) { await limiter.begin(user); await failAndWait(limiter, user, clock, i) }
    await limiter.begin(user)
    await limiter.succeed(user)
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 })
    await limiter.fail(user)
    clock.advance(15 * 60_000)
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 }, 'failures older than the window do not count')
  })

  await t.test('30 parallel attempts cannot outrun the limit', async (t) => {
    const limiter = make(manualClock())
    const user = uniqueUserId()
    const results = await Promise.all(Array.from({ length: 30 }, () => limiter.begin(user)))
    t.equal(results.filter((r) => r.allowed).length, 10)
    t.notOk(await limiter.lockedUntil(uniqueUserId()))
    t.ok(await limiter.lockedUntil(user))
  })

  await t.test('consecutive failures across windows suspend the factor', async (t) => {
    const clock = manualClock()
    const limiter = make(clock, { ...DEFAULT_ATTEMPT_LIMITS, windowMs: 60_000, lockMs: 60_000, suspendAfter: 25 })
    const user = uniqueUserId()
    for (let i = 0; i < 25; i++) {
      const b = await limiter.begin(user)
      if (!b.allowed) { clock.advance(60_000); i--; continue }
      await limiter.fail(user)
    }
    t.match(await limiter.begin(user), { allowed: false, reason: 'suspended' })
  })
}

t.test('attempt limiter (memory): the same rules', async (t) => {
  await limiterRules(t, (clock, limits) => createMemoryAttemptLimiter(clock, limits))
})

t.test('with real Redis', async (t) => {
  const server = await startRedis()
  const redis = await connectRedis(server.url, 'kit-test')
  t.teardown(async () => { redis.disconnect(); await server.stop() })

  await t.test('attempt limiter (Redis): the same rules', async (t) => {
    await limiterRules(t, (clock, limits) => createRedisAttemptLimiter(redis, { prefix: 'test', clock, ...(limits === undefined ? {} : { limits }) }))
  })

  await t.test('claimGreater: strictly increasing, one winner in parallel', async (t) => {
    const key = `test:step:${uniqueUserId()}`
    t.equal(await claimGreater(redis, key, 100, 60_000), true)
    t.equal(await claimGreater(redis, key, 100, 60_000), false, 'same step refused')
    t.equal(await claimGreater(redis, key, 99, 60_000), false, 'older step refused')
    const wins = await Promise.all(Array.from({ length: 20 }, () => claimGreater(redis, key, 101, 60_000)))
    t.equal(wins.filter(Boolean).length, 1)
  })

  await t.test('the limiter and claims fail closed when Redis is away', async (t) => {
    const r2 = await connectRedis(server.url, 'kit-test-2')
    const limiter = createRedisAttemptLimiter(r2, { prefix: 'test', clock: manualClock() })
    r2.disconnect()
    await t.rejects(limiter.begin(uniqueUserId()), { code: 'UNAVAILABLE' })
    await t.rejects(claimGreater(r2, 'k', 1, 1000), { code: 'UNAVAILABLE' })
  })
})
