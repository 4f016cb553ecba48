import { BusError, factorLocked, type FactorName } from '@warden/contracts'
import type { AttemptLimiter, Clock } from '@warden/service-kit'
import type { AttemptGate, EventSink, Randomness } from '../ports.js'

const MAX_MS = 253402300799999 // 9999-12-31T23:59:59.999Z: a suspension reads as "forever"
const iso = (d: Date): string => new Date(Math.min(d.getTime(), MAX_MS)).toISOString()

/**
 * The attempt gate on service-kit's limiter: counts, locks, throttles, suspends, and announces a
 * lock once (one event id per lock). The factor kit's createAttemptGate() replaces this file.
 */
export function createLimiterAttemptGate (opts: {
  limiter: AttemptLimiter, factor: FactorName, lockMs: number, clock: Clock, events?: EventSink, ids: Pick<Randomness, 'eventId'>,
}): AttemptGate {
  const { limiter } = opts
  const announce = async (userId: string, lockedUntil: Date): Promise<void> => {
    if (opts.events === undefined) return
    const at = iso(lockedUntil)
    await opts.events.emit(factorLocked, { userId, factor: opts.factor, lockedUntil: at, eventId: opts.ids.eventId(`${opts.factor}.locked:${userId}:${at}`) })
  }
  return {
    async admit (userId) {
      const now = opts.clock.now().getTime()
      const begin = await limiter.begin(userId)
      if (begin.allowed) return
      if (begin.reason === 'throttled') {
        throw new BusError('RATE_LIMITED', 'too many failed attempts in a row: wait before the next one', { retryAfterSec: Math.max(1, Math.ceil((begin.retryAt.getTime() - now) / 1000)) })
      }
      if (begin.reason === 'suspended') throw new BusError('FACTOR_LOCKED', 'too many failed attempts: add your phone again')
      // A lock made by this very call (more attempts in flight than allowed) is announced too.
      if (begin.lockedUntil.getTime() - opts.lockMs >= now) await announce(userId, begin.lockedUntil)
      throw new BusError('FACTOR_LOCKED', 'too many failed attempts: try again later', { retryAfterSec: Math.max(1, Math.ceil((begin.lockedUntil.getTime() - now) / 1000)) })
    },
    async fail (userId) {
      const failed = await limiter.fail(userId)
      if (failed.lockedUntil !== undefined) await announce(userId, failed.lockedUntil)
      return { attemptsLeft: failed.attemptsLeft }
    },
    succeed: (userId) => limiter.succeed(userId),
    async lockedUntil (userId) {
      const until = await limiter.lockedUntil(userId)
      return until === undefined ? undefined : iso(until)
    },
    clear: (userId) => limiter.clear(userId),
  }
}
