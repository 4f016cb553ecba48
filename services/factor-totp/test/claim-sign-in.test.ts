import { connectRedis, createRedisAttemptLimiter, type AttemptLimits } from '@warden/service-kit'
import { manualClock, startRedis, uniqueUserId } from '@warden/testkit'
import t from 'tap'
import { createRedisUsedStepGuard } from '../src/adapters/redis-used-step-guard.js'

// claimSignIn is the step's claim and the success's reset of the sign-in counter in one script
// (bench/FIXES.md §9): the claim's rules are claim()'s (adapters.test.ts); here, the reset.
const LIMITS: AttemptLimits = { maxFailures: 3, windowMs: 60_000, lockMs: 60_000, suspendAfter: 50, freeFailures: 10 }

t.test('redis used-step guard: claimSignIn against real Redis', async (t) => {
  const server = await startRedis()
  const redis = await connectRedis(server.url, 'totp-claim-test')
  const observer = await connectRedis(server.url, 'totp-claim-observer')
  t.teardown(async () => { redis.disconnect(); observer.disconnect(); await server.stop() })
  const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const limiter = createRedisAttemptLimiter(redis, { prefix: 'totp-test', clock, limits: LIMITS })
  const guard = createRedisUsedStepGuard(redis, { prefix: 'totp-test' })
  const counter = async (userId: string) => {
    const [count, consecutive, lockedUntil] = await observer.hmget(`totp-test:attempts:{${userId}}`, 'count', 'consecutive', 'lockedUntil')
    return { count: Number(count ?? 0), consecutive: Number(consecutive ?? 0), lockedUntil: Number(lockedUntil ?? 0) }
  }
  /** A user with two failed attempts counted. */
  const failedTwice = async (): Promise<string> => {
    const userId = uniqueUserId()
    for (let i = 0; i < 2; i++) { await limiter.begin(userId); await limiter.fail(userId) }
    return userId
  }

  t.test('a winning claim resets the count and the consecutive failures, like the limiter\'s succeed', async (t) => {
    const userId = await failedTwice()
    t.match(await counter(userId), { count: 2, consecutive: 2 })
    t.equal(await guard.claimSignIn(userId, 100), true)
    t.match(await counter(userId), { count: 0, consecutive: 0 })
    t.equal(await observer.get(`totp-test:used:{${userId}}`), '100', 'the step is used')
  })

  t.test('a losing claim (the same, an older or a poisoned step) leaves the counter as it was', async (t) => {
    const userId = uniqueUserId()
    t.equal(await guard.claimSignIn(userId, 100), true)
    for (let i = 0; i < 2; i++) { await limiter.begin(userId); await limiter.fail(userId) }
    t.equal(await guard.claimSignIn(userId, 100), false, 'the same step')
    t.equal(await guard.claimSignIn(userId, 99), false, 'an older step')
    await guard.poison(userId, 101)
    t.equal(await guard.claimSignIn(userId, 101), false, 'a poisoned step')
    t.match(await counter(userId), { count: 2, consecutive: 2 }, 'nothing was reset')
    t.equal(await guard.claim(userId, 101), false, 'claim() agrees: the step is still poisoned')
  })

  t.test('a running lock stays after a success', async (t) => {
    const userId = uniqueUserId()
    for (let i = 0; i < LIMITS.maxFailures + 1; i++) await limiter.begin(userId)
    const locked = await limiter.lockedUntil(userId)
    t.ok(locked !== undefined, 'locked')
    t.equal(await guard.claimSignIn(userId, 100), true)
    t.same(await limiter.lockedUntil(userId), locked, 'the lock lasts until it ends')
    t.match(await limiter.begin(userId), { allowed: false, reason: 'locked' })
  })

  t.test('20 parallel claims of one step: one winner, one reset', async (t) => {
    const userId = await failedTwice()
    const results = await Promise.all(Array.from({ length: 20 }, () => guard.claimSignIn(userId, 200)))
    t.equal(results.filter(Boolean).length, 1, 'exactly one parallel winner')
    t.match(await counter(userId), { count: 0, consecutive: 0 })
  })

  t.test('NOSCRIPT: after SCRIPT FLUSH the script is sent again', async (t) => {
    const userId = await failedTwice()
    t.equal(await guard.claimSignIn(userId, 300), true)
    await observer.script('FLUSH')
    for (let i = 0; i < 2; i++) { await limiter.begin(userId); await limiter.fail(userId) }
    t.equal(await guard.claimSignIn(userId, 301), true)
    t.match(await counter(userId), { count: 0, consecutive: 0 })
  })

  t.test('signInCounter names the counter it resets', async (t) => {
    const other = createRedisAttemptLimiter(redis, { prefix: 'totp-other', clock, limits: LIMITS })
    const userId = await failedTwice()
    await other.begin(userId)
    await other.fail(userId)
    t.equal(await createRedisUsedStepGuard(redis, { prefix: 'totp-test', signInCounter: 'totp-other' }).claimSignIn(userId, 400), true)
    t.equal(await observer.hget(`totp-other:attempts:{${userId}}`, 'consecutive'), '0', 'the named counter is reset')
    t.match(await counter(userId), { count: 2, consecutive: 2 }, 'the prefix\'s own counter is not')
  })

  t.test('Redis away: UNAVAILABLE', async (t) => {
    const r2 = await connectRedis(server.url, 'totp-claim-away')
    const away = createRedisUsedStepGuard(r2, { prefix: 'totp-test' })
    r2.disconnect()
    await t.rejects(away.claimSignIn(uniqueUserId(), 1), { code: 'UNAVAILABLE' })
  })
})
