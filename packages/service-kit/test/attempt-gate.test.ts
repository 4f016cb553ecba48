import { factorLocked, type EventType } from '@warden/contracts'
import { manualClock, uniqueUserId } from '@warden/testkit'
import t from 'tap'
import { Type } from 'typebox'
import {
  AttemptLimitsConfig, attemptLimitsFrom, createAttemptGate, createMemoryAttemptLimiter, DEFAULT_ATTEMPT_LIMITS, loadConfig,
  throttleMs, type AttemptGate, type AttemptLimits, type EventSink,
} from '../src/index.js'

interface Emitted { subject: string, body: Record<string, unknown> }

/** A gate on the in-memory limiter (the Redis one runs the same rules, see attempt-limiter.test.ts). */
function gate (opts: { limits?: AttemptLimits, announce?: boolean } = {}) {
  const clock = manualClock()
  const limiter = createMemoryAttemptLimiter(clock, opts.limits)
  const emitted: Emitted[] = []
  const events: EventSink = { emit: async <E extends EventType>(event: E, body: object) => { emitted.push({ subject: event.subject, body: { ...body } }) } }
  const g = createAttemptGate({ factor: 'sms', limiter, clock, events: opts.announce === false ? undefined : events, suspendedHint: 'add the phone again' })
  return { gate: g, clock, limiter, emitted }
}

async function refusal (p: Promise<unknown>): Promise<{ code?: string, message?: string, retryAfterSec?: number } | undefined> {
  return p.then(() => undefined, (err: unknown) => err as { code?: string, retryAfterSec?: number })
}

/** Fails `n` times, waiting out each wait as a patient person would. */
async function failTimes (g: AttemptGate, clock: ReturnType<typeof manualClock>, userId: string, n: number): Promise<number> {
  let left = -1
  for (let i = 1; i <= n; i++) {
    await g.admit(userId)
    left = (await g.fail(userId)).attemptsLeft
    clock.advance(throttleMs(i, DEFAULT_ATTEMPT_LIMITS))
  }
  return left
}

t.test('the 10th failure locks for 15 minutes: FACTOR_LOCKED with the time left, announced once', async (t) => {
  const { gate: g, clock, emitted } = gate()
  const userId = uniqueUserId()
  t.equal(await failTimes(g, clock, userId, 9), 1, 'one attempt left')
  t.same(emitted, [], 'nothing announced before the lock')
  await g.admit(userId)
  const lockedAt = clock.now()
  t.same(await g.fail(userId), { attemptsLeft: 0 })
  const lockedUntil = new Date(lockedAt.getTime() + 15 * 60_000).toISOString()
  t.match(emitted, [{ subject: factorLocked.subject, body: { userId, factor: 'sms', lockedUntil, eventId: /^evt_[A-Za-z0-9_-]{32}$/ } }])
  t.ok(factorLocked.isPayload({ ...emitted[0]?.body, occurredAt: lockedAt.toISOString() }), 'the event matches its contract')
  t.equal(await g.lockedUntil(userId), lockedUntil, 'describe shows the lock')

  t.match(await refusal(g.admit(userId)), { code: 'FACTOR_LOCKED', retryAfterSec: 900 }, 'even an attempt with the right secret is refused')
  t.equal(new Set(emitted.map((e) => e.body.eventId)).size, 1, 'a refusal in the same instant repeats the announcement under its id')
  const announced = emitted.length
  clock.advance(60_000)
  t.match(await refusal(g.admit(userId)), { code: 'FACTOR_LOCKED', retryAfterSec: 840 })
  t.equal(await g.lockedUntil(userId), lockedUntil, 'refused attempts do not make the lock grow')
  t.equal(emitted.length, announced, 'an older lock is not announced again')
  clock.set(new Date(lockedUntil))
  await g.admit(userId)
  t.equal(await g.lockedUntil(userId), undefined, 'over after 15 minutes')
})

t.test('after 3 free failures the next attempt waits 2^n s: RATE_LIMITED with the wait, not counted, not announced', async (t) => {
  const { gate: g, clock, limiter, emitted } = gate()
  const userId = uniqueUserId()
  for (let i = 0; i < 4; i++) { await g.admit(userId); await g.fail(userId) }
  t.match(await refusal(g.admit(userId)), { code: 'RATE_LIMITED', retryAfterSec: 2 })
  clock.advance(1_500)
  t.match(await refusal(g.admit(userId)), { code: 'RATE_LIMITED', retryAfterSec: 1 }, 'rounded up, never 0')
  t.equal(limiter.state.get(userId)?.count, 4, 'the refused attempts were not counted')
  clock.advance(500)
  await g.admit(userId)
  t.same(emitted, [], 'a wait is not a lock')
})

t.test('more attempts in flight than allowed lock at admission, announced under one event id', async (t) => {
  const { gate: g, emitted } = gate()
  const userId = uniqueUserId()
  const results = await Promise.allSettled(Array.from({ length: 14 }, () => g.admit(userId)))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 10, 'counted before evaluation: 10 get through')
  t.ok(results.filter((r) => r.status === 'rejected').every((r) => (r.reason as { code?: string }).code === 'FACTOR_LOCKED'))
  t.ok(emitted.length >= 1, 'the lock is announced')
  t.equal(new Set(emitted.map((e) => e.body.eventId)).size, 1, 'by each that saw it, with one id: the stream keeps it once')
})

t.test('a suspended factor is FACTOR_LOCKED without a retry time, saying what to do; describe shows the year 9999', async (t) => {
  const { gate: g, clock } = gate({ limits: { ...DEFAULT_ATTEMPT_LIMITS, windowMs: 60_000, lockMs: 60_000, suspendAfter: 3 } })
  const userId = uniqueUserId()
  for (let i = 0; i < 3; i++) { await g.admit(userId); await g.fail(userId) }
  const err = await refusal(g.admit(userId))
  t.match(err, { code: 'FACTOR_LOCKED', message: /add the phone again/ })
  t.equal(err?.retryAfterSec, undefined)
  t.equal(await g.lockedUntil(userId), '9999-12-31T23:59:59.999Z', 'a valid timestamp, clamped')
  clock.advance(24 * 3600_000)
  t.match(await refusal(g.admit(userId)), { code: 'FACTOR_LOCKED' }, 'time does not end a suspension')
  await g.succeed(userId)
  await t.resolves(g.admit(userId), 'a success with the factor (a new enrollment) ends it')
})

t.test('a success starts the count again; clear forgets the user', async (t) => {
  const { gate: g, clock } = gate()
  const userId = uniqueUserId()
  await failTimes(g, clock, userId, 5)
  await g.admit(userId)
  await g.succeed(userId)
  t.equal(await failTimes(g, clock, userId, 1), 9, 'a failure after the success is the first')
  await g.clear(userId)
  t.equal(await failTimes(g, clock, userId, 1), 9, 'and after clear')
})

t.test('a gate without events locks the same but announces nothing (confirmations of an enrollment)', async (t) => {
  const { gate: g, clock, emitted } = gate({ announce: false })
  const userId = uniqueUserId()
  t.equal(await failTimes(g, clock, userId, 10), 0)
  t.match(await refusal(g.admit(userId)), { code: 'FACTOR_LOCKED' })
  t.same(emitted, [])
})

t.test('AttemptLimitsConfig(prefix): five settings with SECURITY.md\'s defaults, read back by attemptLimitsFrom', async (t) => {
  const schema = Type.Object({ ...AttemptLimitsConfig('SMS') })
  t.same(Object.keys(schema.properties).sort(), ['SMS_FAILURE_WINDOW_SEC', 'SMS_FREE_FAILURES', 'SMS_LOCK_SEC', 'SMS_MAX_FAILURES', 'SMS_SUSPEND_AFTER'])
  t.same(attemptLimitsFrom(loadConfig(schema, {}), 'SMS'), DEFAULT_ATTEMPT_LIMITS)
  t.same(attemptLimitsFrom(loadConfig(schema, { SMS_LOCK_SEC: '120', SMS_FREE_FAILURES: '0' }), 'SMS'), { ...DEFAULT_ATTEMPT_LIMITS, lockMs: 120_000, freeFailures: 0 })
  t.throws(() => loadConfig(schema, { SMS_MAX_FAILURES: '0' }), /SMS_MAX_FAILURES/)
  t.throws(() => loadConfig(schema, { SMS_LOCK_SEC: '5' }), /SMS_LOCK_SEC/, 'a lock shorter than a minute is refused')
})
