import { BusError, type EventType } from '@warden/contracts'
import { createAttemptGate, createKeyRing, createMemoryAdmittingLedger, createMemoryAttemptLimiter, DEFAULT_ATTEMPT_LIMITS, throttleMs, type AttemptLimiter, type AttemptLimits } from '@warden/service-kit'
import { manualClock } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import { generateSync } from 'otplib'
import { createKeyRingCipher } from '../src/adapters/key-ring-cipher.js'
import { createOtplibTotp } from '../src/adapters/otplib-totp.js'
import type { ActiveFactor, EnrollmentStore, PendingEnrollment, TotpServiceDeps, UsedStepGuard } from '../src/ports.js'

export type ManualClock = ReturnType<typeof manualClock>

/** The code an authenticator app with `secret` (base32) shows at `at`, shifted by `steps`. */
export function codeAt (secret: string, at: Date, steps = 0): string {
  return generateSync({ secret, epoch: Math.floor(at.getTime() / 1000) + steps * 30, digits: 6 })
}

/** A six-digit code that is not valid for `secret` anywhere within ±`span` steps of `at`. */
export function wrongCode (secret: string, at: Date, span = 25): string {
  const near = new Set<string>()
  for (let d = -span; d <= span; d++) near.add(codeAt(secret, at, d))
  for (let n = 0; ; n++) {
    const c = String((123456 + n * 7919) % 1_000_000).padStart(6, '0')
    if (!near.has(c)) return c
  }
}

/** The in-memory store: a revision per key, compare-and-set like the real one. */
export function memoryEnrollmentStore () {
  const active = new Map<string, ActiveFactor>()
  const pending = new Map<string, { value: PendingEnrollment, revision: number }>()
  let rev = 0
  const store: EnrollmentStore = {
    getActive: async (userId) => active.get(userId),
    putActive: async (userId, f) => { active.set(userId, f) },
    getPending: async (userId) => pending.get(userId),
    putPending: async (userId, p) => { pending.set(userId, { value: p, revision: ++rev }) },
    takePending: async (userId, revision) => {
      await Promise.resolve() // let parallel callers interleave, as over a network
      if (pending.get(userId)?.revision !== revision) return false
      pending.delete(userId)
      return true
    },
    removeAll: async (userId) => {
      const a = active.get(userId)
      const p = pending.has(userId)
      active.delete(userId)
      pending.delete(userId)
      return { active: a, pending: p }
    },
  }
  return { store, active, pending }
}

/** The replay ledger in memory; `signIns` is the sign-in limiter that claimSignIn resets. */
export function memoryUsedSteps (signIns: AttemptLimiter): UsedStepGuard & { last: Map<string, number> } {
  const last = new Map<string, number>()
  const poisoned = new Set<string>()
  const claim = async (userId: string, step: number): Promise<boolean> => {
    if (poisoned.has(`${userId}/${step}`)) return false
    if (step <= (last.get(userId) ?? -1)) return false
    last.set(userId, step)
    return true
  }
  return {
    last,
    poison: async (userId, step) => { poisoned.add(`${userId}/${step}`) },
    claim,
    claimSignIn: async (userId, step) => {
      if (!await claim(userId, step)) return false
      await signIns.succeed(userId)
      return true
    },
  }
}

export interface EmittedEvent { subject: string, body: Record<string, unknown> }

/** Unit-test dependencies: in-memory ports, the real (pure) algorithm and cipher, a manual clock. */
export function fakeDeps (opts: { clock?: ManualClock, limits?: AttemptLimits, issuer?: string } = {}) {
  const clock = opts.clock ?? manualClock(new Date('2026-03-01T12:00:10.000Z'))
  const enrollments = memoryEnrollmentStore()
  // The Redis limiter's rules, in memory (service-kit keeps both side by side), behind the real gates.
  const limiter = createMemoryAttemptLimiter(clock, opts.limits)
  const usedSteps = memoryUsedSteps(limiter)
  const confirmLimiter = createMemoryAttemptLimiter(clock, opts.limits)
  const events: EmittedEvent[] = []
  const eventSink = {
    emit: async <E extends EventType>(event: E, body: object) => { events.push({ subject: event.subject, body: { ...body } }) },
  }
  let n = 0
  const deps: TotpServiceDeps = {
    enrollments: enrollments.store,
    usedSteps,
    verifyOutcomes: createMemoryAdmittingLedger(limiter),
    totp: createOtplibTotp(),
    cipher: createKeyRingCipher(createKeyRing(new Map([['t1', randomBytes(32)]]), 't1')),
    signIns: createAttemptGate({ factor: 'totp', limiter, clock, events: eventSink, suspendedHint: 'enroll the authenticator app again' }),
    confirmations: createAttemptGate({ factor: 'totp', limiter: confirmLimiter, clock }),
    clock,
    events: eventSink,
    qr: { svg: async (text) => `<svg data-len="${text.length}"/>` },
    ids: { enrollmentId: () => `totp_${String(++n).padStart(16, '0')}` },
    settings: { issuer: opts.issuer ?? 'Warden', enrollmentTtlMs: 10 * 60_000 },
  }
  return { deps, clock, enrollments, usedSteps, limiter, confirmLimiter, events }
}

/** A store port whose every call fails like a fault would: the message must never reach a caller. */
export function faultyEnrollmentStore (message: string): EnrollmentStore {
  const fail = async (): Promise<never> => { throw new Error(message) }
  return { getActive: fail, putActive: fail, getPending: fail, putPending: fail, takePending: fail, removeAll: fail }
}

/** A replay ledger that is down: it fails closed, as the Redis adapter does. */
export function unavailableUsedSteps (): UsedStepGuard {
  const down = async (): Promise<never> => { throw new BusError('UNAVAILABLE', 'the replay ledger is unavailable', { retryAfterSec: 5 }) }
  return { claim: down, claimSignIn: down, poison: down }
}

/**
 * Moves the clock past the wait that the user's failures so far impose (2^n s after the 4th), as
 * a patient person would, so a test can reach the 10th failure and the lock.
 */
export function waitOutThrottle (f: ReturnType<typeof fakeDeps>, userId: string, which: 'limiter' | 'confirmLimiter' = 'limiter'): void {
  f.clock.advance(throttleMs(f[which].state.get(userId)?.count ?? 0, DEFAULT_ATTEMPT_LIMITS))
}
