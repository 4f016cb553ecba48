import { BusError, factorLocked, type FactorName } from '@warden/contracts'
import { Type, type TInteger } from 'typebox'
import { DEFAULT_ATTEMPT_LIMITS, type AttemptLimiter, type AttemptLimits, type BeginResult } from './attempt-limiter.js'
import { toTimestamp, type Clock } from './clock.js'
import type { EventSink } from './event-sink.js'
import { derivedEventId } from './ids.js'

/**
 * The attempt limits of one factor, answered the same way by every factor (SECURITY.md §1-2):
 * an attempt is counted before its secret is evaluated; while the wait after a run of failures
 * lasts, attempts are RATE_LIMITED; while locked or suspended they are FACTOR_LOCKED, even with
 * the right secret. Refused attempts are not counted. The lock is announced as `factor.locked`.
 */
export interface AttemptGate {
  /**
   * Counts the attempt, or refuses it without counting: RATE_LIMITED with `retryAfterSec` during
   * the wait, FACTOR_LOCKED with `retryAfterSec` while locked, FACTOR_LOCKED without one when
   * suspended (until the factor is enrolled again).
   */
  admit: (userId: string) => Promise<void>
  /**
   * admit()'s answer to a count already made by the gate's limiter (`begin`), within a script that
   * merged it with another step (onceAdmitted): returns if allowed, else throws and announces as
   * admit() does.
   */
  admitCounted: (userId: string, begin: BeginResult) => Promise<void>
  /** Records a failed attempt (announcing the lock it causes); says how many are left before the lock. */
  fail: (userId: string) => Promise<{ attemptsLeft: number }>
  /** A success with this factor: the count starts again and a suspension ends; a running lock stays. */
  succeed: (userId: string) => Promise<void>
  /** The lock as `describe` shows it (RFC 3339), or undefined. A suspension shows as the year 9999. */
  lockedUntil: (userId: string) => Promise<string | undefined>
  /** Forgets the user's attempts (`user.reset`). */
  clear: (userId: string) => Promise<void>
}

export interface AttemptGateDeps {
  readonly factor: FactorName
  readonly limiter: AttemptLimiter
  readonly clock: Clock
  /**
   * Where locks are announced. Leave it out for a counter whose lock stops no sign-in (the
   * confirmations of a pending enrollment).
   */
  readonly events?: EventSink | undefined
  /** What a suspended user must do, e.g. "enroll the authenticator app again". */
  readonly suspendedHint?: string | undefined
}

const secondsUntil = (at: Date, now: Date): number => Math.max(1, Math.ceil((at.getTime() - now.getTime()) / 1000))

export function createAttemptGate (deps: AttemptGateDeps): AttemptGate {
  const { factor, limiter, clock, events } = deps
  const suspendedHint = deps.suspendedHint ?? 'set this method up again'

  async function announceLock (userId: string, lockedUntil: Date): Promise<void> {
    if (events === undefined) return
    const at = toTimestamp(lockedUntil)
    // Every request that notices one lock emits the same event id, so the stream keeps it once.
    const eventId = derivedEventId(`${factor}.locked:${userId}:${at}`)
    await events.emit(factorLocked, { userId, factor, lockedUntil: at, eventId })
  }

  async function admitCounted (userId: string, begin: BeginResult): Promise<void> {
    if (begin.allowed) return
    const now = clock.now()
    if (begin.reason === 'throttled') {
      throw new BusError('RATE_LIMITED', 'too many failed attempts in a row: wait before the next one', { retryAfterSec: secondsUntil(begin.retryAt, now) })
    }
    if (begin.reason === 'suspended') throw new BusError('FACTOR_LOCKED', `too many failed attempts: ${suspendedHint}`)
    // More attempts in flight than the limit allows lock in begin(), not in fail(): a lock made
    // just now is announced here too.
    if (begin.lockedUntil.getTime() - limiter.limits.lockMs >= now.getTime()) await announceLock(userId, begin.lockedUntil)
    throw new BusError('FACTOR_LOCKED', 'too many failed attempts: try again later', { retryAfterSec: secondsUntil(begin.lockedUntil, now) })
  }

  return {
    admit: async (userId) => { await admitCounted(userId, await limiter.begin(userId)) },
    admitCounted,
    async fail (userId) {
      const failed = await limiter.fail(userId)
      if (failed.lockedUntil !== undefined) await announceLock(userId, failed.lockedUntil)
      return { attemptsLeft: failed.attemptsLeft }
    },
    succeed: (userId) => limiter.succeed(userId),
    async lockedUntil (userId) {
      const until = await limiter.lockedUntil(userId)
      return until === undefined ? undefined : toTimestamp(until)
    },
    clear: (userId) => limiter.clear(userId),
  }
}

type AttemptLimitsKey<P extends string> =
  | `${P}_MAX_FAILURES` | `${P}_FAILURE_WINDOW_SEC` | `${P}_LOCK_SEC` | `${P}_SUSPEND_AFTER` | `${P}_FREE_FAILURES`

/** The five settings of `AttemptLimitsConfig(prefix)`, as a loaded config holds them. */
export type AttemptLimitsSettings<P extends string> = { readonly [K in AttemptLimitsKey<P>]: number }

/**
 * A factor's attempt limits as config fields, for its config schema: `TOTP_MAX_FAILURES`,
 * `TOTP_FAILURE_WINDOW_SEC`, `TOTP_LOCK_SEC`, `TOTP_SUSPEND_AFTER` and `TOTP_FREE_FAILURES` for
 * prefix `TOTP`, with SECURITY.md §2's defaults.
 */
export function AttemptLimitsConfig<P extends string> (prefix: P): { [K in AttemptLimitsKey<P>]: TInteger } {
  const d = DEFAULT_ATTEMPT_LIMITS
  const fields: Record<string, TInteger> = {
    [`${prefix}_MAX_FAILURES`]: Type.Integer({ minimum: 1, maximum: 100, default: d.maxFailures, description: 'Failures within the window that lock the factor' }),
    [`${prefix}_FAILURE_WINDOW_SEC`]: Type.Integer({ minimum: 60, default: d.windowMs / 1000, description: 'The window failures are counted in' }),
    [`${prefix}_LOCK_SEC`]: Type.Integer({ minimum: 60, default: d.lockMs / 1000, description: 'How long a lock lasts' }),
    [`${prefix}_SUSPEND_AFTER`]: Type.Integer({ minimum: 1, maximum: 100, default: d.suspendAfter, description: 'Consecutive failures that suspend the factor until it is enrolled again' }),
    [`${prefix}_FREE_FAILURES`]: Type.Integer({ minimum: 0, maximum: 100, default: d.freeFailures, description: 'Failures without a wait; after the n-th failure beyond them the next attempt waits 2^n s (up to the lock)' }),
  }
  return fields as { [K in AttemptLimitsKey<P>]: TInteger }
}

/** The limits a loaded config holds under `prefix` (see AttemptLimitsConfig). */
export function attemptLimitsFrom<P extends string> (config: AttemptLimitsSettings<P>, prefix: P): AttemptLimits {
  return {
    maxFailures: config[`${prefix}_MAX_FAILURES`],
    windowMs: config[`${prefix}_FAILURE_WINDOW_SEC`] * 1000,
    lockMs: config[`${prefix}_LOCK_SEC`] * 1000,
    suspendAfter: config[`${prefix}_SUSPEND_AFTER`],
    freeFailures: config[`${prefix}_FREE_FAILURES`],
  }
}
