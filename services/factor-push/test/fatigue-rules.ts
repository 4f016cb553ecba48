import { uniqueUserId } from '@warden/testkit'
import type { Test } from 'tap'
import type { FatigueBreaker } from '../src/ports.js'
import type { ManualClock } from './fakes.js'

const FLOW = 'txn_' + 'F'.repeat(43)

/** The fatigue breaker's rules; the Redis adapter and the in-memory fake both run them. */
export async function fatigueRules (t: Test, make: () => { breaker: FatigueBreaker, clock: ManualClock }): Promise<void> {
  const push = (clock: ManualClock, n: number) => ({ challengeId: `pch_rule${n}`, flowId: FLOW, expiresAt: new Date(clock.now().getTime() + 120_000) })

  await t.test('one open push: a second is refused with the open one named, until it closes or expires', async (t) => {
    const { breaker, clock } = make()
    const u = uniqueUserId()
    t.same(await breaker.admit(u, push(clock, 1)), { admitted: true })
    t.same(await breaker.admit(u, push(clock, 2)), { admitted: false, reason: 'open', challengeId: 'pch_rule1', flowId: FLOW, until: new Date(clock.now().getTime() + 120_000) })
    await breaker.close(u, 'pch_rule2')
    t.match(await breaker.admit(u, push(clock, 2)), { reason: 'open' }, 'closing another push frees nothing')
    await breaker.close(u, 'pch_rule1')
    t.same(await breaker.admit(u, push(clock, 2)), { admitted: true })
    clock.advance(120_000)
    t.same(await breaker.admit(u, push(clock, 3)), { admitted: true }, 'an expired push is not open')
  })

  await t.test('at most maxPerWindow in the window; a cancelled push does not count', async (t) => {
    const { breaker, clock } = make()
    const u = uniqueUserId()
    for (let n = 1; n <= 3; n++) {
      t.same(await breaker.admit(u, push(clock, n)), { admitted: true })
      await breaker.close(u, `pch_rule${n}`)
      clock.advance(60_000)
    }
    const start = clock.now().getTime() - 180_000
    t.same(await breaker.admit(u, push(clock, 4)), { admitted: false, reason: 'too_many', retryAt: new Date(start + 600_000) })
    await breaker.cancel(u, 'pch_rule3')
    t.same(await breaker.admit(u, push(clock, 4)), { admitted: true }, 'the cancelled one left the window')
    await breaker.close(u, 'pch_rule4')
    clock.set(new Date(start + 600_000))
    t.same(await breaker.admit(u, push(clock, 5)), { admitted: true }, 'the oldest left the window')
  })

  await t.test('weighted denials within the window pause; the pause ends; clear forgets', async (t) => {
    const { breaker, clock } = make()
    const u = uniqueUserId()
    t.same(await breaker.recordDenial(u, 'pch_a', 1), {})
    clock.advance(3_600_000)
    t.same(await breaker.recordDenial(u, 'pch_b', 1), {}, 'the first one is out of the window')
    const at = clock.now().getTime()
    t.same(await breaker.recordDenial(u, 'pch_c', 1), { pausedUntil: new Date(at + 3_600_000) })
    t.same(await breaker.pausedUntil(u), new Date(at + 3_600_000))
    t.same(await breaker.admit(u, push(clock, 1)), { admitted: false, reason: 'paused', until: new Date(at + 3_600_000) })
    clock.advance(3_600_000)
    t.equal(await breaker.pausedUntil(u), undefined)
    t.same(await breaker.admit(u, push(clock, 1)), { admitted: true })
    t.same(await breaker.recordDenial(u, 'pch_d', 1), {}, 'the denials before the pause are spent')

    const v = uniqueUserId()
    t.match(await breaker.recordDenial(v, 'pch_x', 2), { pausedUntil: Date }, 'a double-weight denial pauses at once')
    await breaker.clear(v)
    t.equal(await breaker.pausedUntil(v), undefined)
    t.same(await breaker.admit(v, push(clock, 9)), { admitted: true })
  })

  await t.test('parallel admits: exactly one', async (t) => {
    const { breaker, clock } = make()
    const u = uniqueUserId()
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => breaker.admit(u, push(clock, n))))
    t.equal(results.filter((r) => r.admitted).length, 1)
  })
}
