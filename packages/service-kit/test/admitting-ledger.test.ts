import { type EventType } from '@warden/contracts'
import { manualClock, startRedis, uniqueUserId } from '@warden/testkit'
import t, { type Test } from 'tap'
import {
  connectRedis, createAttemptGate, createMemoryAdmittingLedger, createMemoryAttemptLimiter, createRedisAdmittingLedger, createRedisAttemptLimiter,
  once, onceAdmitted, type AdmittingLedger, type AttemptLimiter, type AttemptLimits,
} from '../src/index.js'

// Small limits so a lock is near: 3 attempts in the window, the 4th locks; the 2nd failure makes
// the next attempt wait 2 s.
const LIMITS: AttemptLimits = { maxFailures: 3, windowMs: 60_000, lockMs: 60_000, suspendAfter: 50, freeFailures: 1 }

type Clock = ReturnType<typeof manualClock>
interface Subject { ledger: AdmittingLedger<{ n: number }>, limiter: AttemptLimiter, clock: Clock }

/** What onceAdmitted() over any admitting ledger must do: run against Redis and in memory below. */
async function admittedRules (t: Test, make: () => Subject): Promise<void> {
  const setup = () => {
    const s = make()
    const events: Array<{ subject: string, body: object }> = []
    const sink = { emit: async <E extends EventType>(event: E, body: object) => { events.push({ subject: event.subject, body }) } }
    const gate = createAttemptGate({ factor: 'totp', limiter: s.limiter, clock: s.clock, events: sink })
    const userId = uniqueUserId()
    let runs = 0
    const attempt = async () => ({ n: ++runs })
    const run = (key: string | undefined, fingerprint = 'txn-1', fn = attempt) => onceAdmitted({ ledger: s.ledger, gate, userId, key, fingerprint }, fn)
    /** The count of attempts in the window, read through the limiter's own rules (a begin is a count: 1 less). */
    const counted = async (): Promise<number> => {
      const begin = await s.limiter.begin(userId)
      if (!begin.allowed) throw new Error(`not admitted: ${begin.reason}`)
      return begin.attempt - 1
    }
    return { ...s, events, gate, userId, run, counted, runs: () => runs }
  }

  t.test('no key: admitted and run, counted each time', async (t) => {
    const s = setup()
    t.same(await s.run(undefined), { n: 1 })
    t.same(await s.run(undefined), { n: 2 })
    t.equal(await s.counted(), 2)
  })

  t.test('a new key is counted once; its replay is answered from the record and not counted', async (t) => {
    const s = setup()
    t.same(await s.run('key-aaaaaaaaaaaaaa'), { n: 1 })
    t.same(await s.run('key-aaaaaaaaaaaaaa'), { n: 1 }, 'the recorded outcome')
    t.same(await s.run('key-aaaaaaaaaaaaaa'), { n: 1 })
    t.equal(s.runs(), 1)
    t.equal(await s.counted(), 1, 'one attempt counted for three requests with one key')
  })

  t.test('a key reused for another request is CONFLICT and not counted', async (t) => {
    const s = setup()
    await s.run('key-aaaaaaaaaaaaaa')
    await t.rejects(s.run('key-aaaaaaaaaaaaaa', 'txn-2'), { code: 'CONFLICT' })
    t.equal(await s.counted(), 1)
  })

  t.test('a pending key is UNAVAILABLE and not counted', async (t) => {
    const s = setup()
    let release = (): void => {}
    const released = new Promise<void>((resolve) => { release = resolve })
    const slow = s.run('key-cccccccccccccc', 'txn-1', async () => { await released; return { n: 99 } })
    await new Promise((resolve) => setImmediate(resolve))
    await t.rejects(s.run('key-cccccccccccccc'), { code: 'UNAVAILABLE', retryAfterSec: 1 })
    await t.rejects(s.run('key-cccccccccccccc'), { code: 'UNAVAILABLE', retryAfterSec: 1 })
    release()
    t.same(await slow, { n: 99 })
    t.equal(await s.counted(), 1, 'only the running attempt was counted')
  })

  t.test('a fault is not an outcome: the key is forgotten, its retry is evaluated (and counted) again', async (t) => {
    const s = setup()
    await t.rejects(s.run('key-bbbbbbbbbbbbbb', 'txn-1', async () => { throw new Error('boom') }), /boom/)
    t.same(await s.run('key-bbbbbbbbbbbbbb'), { n: 1 })
    t.equal(await s.counted(), 2)
  })

  t.test('a lock still locks, is announced, and a refused attempt leaves no entry; a recorded key is still answered', async (t) => {
    const s = setup()
    t.same(await s.run('key-0000000000000a'), { n: 1 })
    t.same(await s.run('key-0000000000000b'), { n: 2 })
    t.same(await s.run('key-0000000000000c'), { n: 3 })
    await t.rejects(s.run('key-0000000000000d'), { code: 'FACTOR_LOCKED', retryAfterSec: 60 }, 'the 4th attempt in the window locks')
    t.match(s.events, [{ subject: 'warden.events.v1.factor.locked', body: { userId: s.userId, factor: 'totp' } }], 'the lock is announced')
    await t.rejects(s.run('key-0000000000000d'), { code: 'FACTOR_LOCKED' }, 'the refused key was not left pending')
    t.same(await s.run('key-0000000000000a'), { n: 1 }, 'a recorded key is answered from the record even while locked')
    t.equal(s.runs(), 3, 'nothing ran while locked')
    s.clock.advance(60_000)
    t.same(await s.run('key-0000000000000d'), { n: 4 }, 'after the lock the same key is a new attempt')
  })

  t.test('the wait after failures is RATE_LIMITED, leaves no entry, and counts nothing', async (t) => {
    const s = setup()
    for (const key of ['key-f0000000000001', 'key-f0000000000002']) {
      await s.run(key)
      await s.gate.fail(s.userId)
    }
    await t.rejects(s.run('key-f0000000000003'), { code: 'RATE_LIMITED', retryAfterSec: 2 })
    s.clock.advance(2_000)
    t.same(await s.run('key-f0000000000003'), { n: 3 }, 'the refused key was not left pending')
  })

  t.test('a suspended factor is FACTOR_LOCKED without a wait', async (t) => {
    const s = setup()
    for (let i = 0; i < LIMITS.suspendAfter; i++) await s.gate.fail(s.userId)
    const refused = await s.run('key-s0000000000001').then(() => undefined, (err: unknown) => err as { code?: string, retryAfterSec?: number })
    t.equal(refused?.code, 'FACTOR_LOCKED')
    t.equal(refused?.retryAfterSec, undefined, 'no wait: it lasts until the factor is set up again')
    t.equal(s.runs(), 0)
  })
}

t.test('admitting ledger (memory): the rules of ledger then gate', async (t) => {
  await admittedRules(t, () => {
    const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
    const limiter = createMemoryAttemptLimiter(clock, LIMITS)
    return { ledger: createMemoryAdmittingLedger(limiter), limiter, clock }
  })
})

t.test('admitting ledger (Redis): the same rules in one script', async (t) => {
  const server = await startRedis()
  const redis = await connectRedis(server.url, 'kit-admitting-test')
  const observer = await connectRedis(server.url, 'kit-admitting-observer')
  t.teardown(async () => { redis.disconnect(); observer.disconnect(); await server.stop() })
  const make = (prefix = 'adm'): Subject => {
    const clock = manualClock(new Date('2026-03-01T12:00:00.000Z'))
    return {
      ledger: createRedisAdmittingLedger(redis, { prefix, attempts: { prefix, limits: LIMITS, clock } }),
      limiter: createRedisAttemptLimiter(redis, { prefix, clock, limits: LIMITS }),
      clock,
    }
  }

  await admittedRules(t, make)

  t.test('20 parallel begins of one key: one runs and one is counted', async (t) => {
    const { ledger, limiter } = make()
    const userId = uniqueUserId()
    const firsts = await Promise.all(Array.from({ length: 20 }, () => ledger.beginAdmitted(userId, 'parallel-key-0001', 'fp')))
    t.equal(firsts.filter((e) => e.state === 'new').length, 1, 'exactly one caller runs the attempt')
    t.same(firsts.filter((e) => e.state === 'pending').length, 19, 'the others see it pending')
    t.match(await limiter.begin(userId), { allowed: true, attempt: 2 }, 'one attempt was counted')
  })

  t.test('the entry and the counter are the ledger\'s and the limiter\'s keys, in one hash slot', async (t) => {
    const { ledger } = make('slot')
    const userId = uniqueUserId()
    await ledger.beginAdmitted(userId, 'slot-key-00000001', 'fp')
    t.same((await observer.keys(`slot:*{${userId}}*`)).sort(), [`slot:attempts:{${userId}}`, `slot:outcome:{${userId}}:slot-key-00000001`])
    const pending = await createRedisAdmittingLedger(redis, { prefix: 'slot', attempts: { prefix: 'slot', limits: LIMITS, clock: manualClock(new Date()) } })
      .begin(userId, 'slot-key-00000001', 'fp')
    t.same(pending, { state: 'pending', fingerprint: 'fp' }, 'the plain ledger reads the entry the merged script wrote')
  })

  t.test('a refused count leaves no entry and no pending key in Redis', async (t) => {
    const { ledger, limiter } = make('refused')
    const userId = uniqueUserId()
    for (let i = 0; i < LIMITS.suspendAfter; i++) await limiter.fail(userId)
    t.match(await ledger.beginAdmitted(userId, 'refused-key-00001', 'fp'), { state: 'new', admission: { allowed: false, reason: 'suspended' } })
    t.equal(await observer.exists(`refused:outcome:{${userId}}:refused-key-00001`), 0)
  })

  t.test('NOSCRIPT: after SCRIPT FLUSH the script is sent again, once', async (t) => {
    const { ledger, limiter } = make('noscript')
    const userId = uniqueUserId()
    await ledger.beginAdmitted(userId, 'noscript-key-0001', 'fp')
    await observer.script('FLUSH')
    t.match(await ledger.beginAdmitted(userId, 'noscript-key-0002', 'fp'), { state: 'new', admission: { allowed: true, attempt: 2 } })
    t.match(await ledger.beginAdmitted(userId, 'noscript-key-0001', 'fp'), { state: 'pending' })
    t.match(await limiter.begin(userId), { allowed: true, attempt: 3 })
  })

  t.test('Redis away: UNAVAILABLE', async (t) => {
    const r2 = await connectRedis(server.url, 'kit-admitting-away')
    const clock = manualClock(new Date())
    const limiter = createRedisAttemptLimiter(r2, { prefix: 'away', clock, limits: LIMITS })
    const away = createRedisAdmittingLedger(r2, { prefix: 'away', attempts: { prefix: 'away', limits: LIMITS, clock } })
    r2.disconnect()
    const gate = createAttemptGate({ factor: 'totp', limiter, clock })
    await t.rejects(onceAdmitted({ ledger: away, gate, userId: uniqueUserId(), key: 'some-key-00000001', fingerprint: 'fp' }, async () => 1), { code: 'UNAVAILABLE' })
    await t.rejects(once({ ledger: away, scope: uniqueUserId(), key: 'some-key-00000001', fingerprint: 'fp' }, async () => 1), { code: 'UNAVAILABLE' })
  })
})
