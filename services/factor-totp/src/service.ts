import {
  BusError, EnrollTotpResponse, factorEnrolled, factorRemoved,
  type ConfirmTotpRequest, type ConfirmTotpResponse, type DescribeResponse, type EnrollTotpRequest,
  type RemoveResponse, type UserRequest, type VerifyTotpRequest, type VerifyTotpResponse,
} from '@warden/contracts'
import { once, onceAdmitted, toTimestamp } from '@warden/service-kit'
import type { TotpServiceDeps } from './ports.js'

/** Accepted steps, in order of preference: T, then T-1 (network delay), then T+1 (RFC 6238 §5.2). */
const WINDOW = [0, -1, 1] as const
/** How far (in steps, ±10 min) a rejected code is searched for, to tell the user their clock is off. */
export const SKEW_SEARCH_STEPS = 20

// The contract bounds the URI; a long (or very non-ASCII) account name can exceed it once encoded.
const MAX_URI_LENGTH = (EnrollTotpResponse.properties.otpauthUri as { maxLength?: number }).maxLength ?? 500

type Rejected = Extract<VerifyTotpResponse, { result: 'rejected' }>

export type TotpService = ReturnType<typeof createTotpService>

export function createTotpService (deps: TotpServiceDeps) {
  const { totp, clock } = deps

  /** The step `code` belongs to within the window, else undefined. Every candidate is evaluated. */
  function matchWindow (secret: Uint8Array, code: string, t: number): number | undefined {
    let found: number | undefined
    for (const d of WINDOW) {
      const ok = totp.matches(secret, t + d, code)
      if (ok && found === undefined) found = t + d
    }
    return found
  }

  /** The nearest step offset beyond the window at which `code` is valid: a hint at a wrong device clock. */
  function skewSteps (secret: Uint8Array, code: string, t: number): number | undefined {
    for (let d = 2; d <= SKEW_SEARCH_STEPS; d++) {
      if (totp.matches(secret, t - d, code)) return -d
      if (totp.matches(secret, t + d, code)) return d
    }
    return undefined
  }

  function rejection (secret: Uint8Array, code: string, t: number): { reason: 'invalid_code' } | { reason: 'clock_skew', offsetSec: number } {
    const d = skewSteps(secret, code, t)
    return d === undefined ? { reason: 'invalid_code' } : { reason: 'clock_skew', offsetSec: d * totp.periodSec }
  }

  async function rejectSignIn (userId: string, answer: Omit<Rejected, 'result' | 'attemptsLeft'>): Promise<Rejected> {
    const { attemptsLeft } = await deps.signIns.fail(userId)
    return { result: 'rejected', ...answer, attemptsLeft }
  }

  function withSecret<T> (sealed: string, userId: string, fn: (secret: Uint8Array) => T): T {
    const secret = deps.cipher.open(sealed, userId)
    try {
      return fn(secret)
    } finally {
      secret.fill(0)
    }
  }

  return {
    async describe (req: UserRequest): Promise<DescribeResponse> {
      const active = await deps.enrollments.getActive(req.userId)
      if (active === undefined) return { factor: 'totp', enrolled: false, items: [] }
      const lockedUntil = await deps.signIns.lockedUntil(req.userId)
      return {
        factor: 'totp',
        enrolled: true,
        createdAt: active.createdAt,
        ...(lockedUntil === undefined ? {} : { lockedUntil }),
        items: [],
      }
    },

    async enroll (req: EnrollTotpRequest): Promise<EnrollTotpResponse> {
      const now = clock.now()
      const secret = totp.newSecret()
      try {
        const otpauthUri = totp.otpauthUri({ issuer: deps.settings.issuer, accountName: req.accountName, secret })
        if (otpauthUri.length > MAX_URI_LENGTH) throw new BusError('BAD_REQUEST', 'accountName is too long for an otpauth URI')
        const enrollmentId = deps.ids.enrollmentId()
        const expiresAt = toTimestamp(new Date(now.getTime() + deps.settings.enrollmentTtlMs))
        const qrSvg = await deps.qr.svg(otpauthUri)
        // Pending only: an active factor keeps working until this one is confirmed.
        await deps.enrollments.putPending(req.userId, {
          enrollmentId,
          sealedSecret: deps.cipher.seal(secret, req.userId),
          createdAt: toTimestamp(now),
          expiresAt,
        })
        return { enrollmentId, secret: totp.encodeSecret(secret), otpauthUri, qrSvg, expiresAt }
      } finally {
        secret.fill(0)
      }
    },

    async confirm (req: ConfirmTotpRequest): Promise<ConfirmTotpResponse> {
      const pending = await deps.enrollments.getPending(req.userId)
      if (pending === undefined || pending.value.enrollmentId !== req.enrollmentId) {
        throw new BusError('NOT_FOUND', 'no pending enrollment with this id')
      }
      const now = clock.now()
      if (now.getTime() >= Date.parse(pending.value.expiresAt)) {
        throw new BusError('ENROLLMENT_EXPIRED', 'the enrollment expired: start again')
      }
      await deps.confirmations.admit(req.userId)
      const t = totp.stepAt(now)
      const outcome = withSecret(pending.value.sealedSecret, req.userId, (secret) => {
        const step = matchWindow(secret, req.code, t)
        return step === undefined ? rejection(secret, req.code, t) : { step }
      })
      if (!('step' in outcome)) {
        await deps.confirmations.fail(req.userId)
        return { result: 'rejected', ...outcome }
      }
      // Burn the confirming step so the same code cannot sign in. A false answer means a step at
      // least as late is already used, which burns this one just as well.
      await deps.usedSteps.claim(req.userId, outcome.step)
      // A success with the (new) authenticator: resets both counters, which lifts a suspension; a
      // running time lock stays until it ends. Redis first, so a Redis fault changes nothing stored.
      await deps.confirmations.succeed(req.userId)
      await deps.signIns.succeed(req.userId)
      // Exactly one of several parallel confirmations takes the pending enrollment.
      if (!await deps.enrollments.takePending(req.userId, pending.revision)) {
        throw new BusError('NOT_FOUND', 'the enrollment was already confirmed or replaced')
      }
      await deps.enrollments.putActive(req.userId, {
        factorId: pending.value.enrollmentId,
        sealedSecret: pending.value.sealedSecret,
        createdAt: toTimestamp(now),
      })
      await deps.events.emit(factorEnrolled, { userId: req.userId, factor: 'totp', itemId: pending.value.enrollmentId })
      return { result: 'confirmed', confirmedAt: toTimestamp(now) }
    },

    /**
     * A retry with the same idempotency key (after a lost reply) gets the first attempt's outcome:
     * the step it claimed stays the caller's, and a failure is not counted twice. The key is bound
     * to the transaction (flowId).
     */
    async verify (req: VerifyTotpRequest): Promise<VerifyTotpResponse> {
      // The enrollment first: without one the answer is NOT_ENROLLED with no attempt counted, and
      // with one the count rides with the ledger's begin (one Redis round trip for both).
      const active = await deps.enrollments.getActive(req.userId)
      if (active === undefined) {
        // Through the ledger all the same: a retried key is answered from its record.
        return once({ ledger: deps.verifyOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: req.flowId }, async () => {
          throw new BusError('NOT_ENROLLED', 'no authenticator app for this user')
        })
      }
      return onceAdmitted({ ledger: deps.verifyOutcomes, gate: deps.signIns, userId: req.userId, key: req.idempotencyKey, fingerprint: req.flowId }, async () => {
        const now = clock.now()
        const t = totp.stepAt(now)
        const outcome = withSecret(active.sealedSecret, req.userId, (secret) => {
          const step = matchWindow(secret, req.code, t)
          return step === undefined ? rejection(secret, req.code, t) : { step }
        })
        if (!('step' in outcome)) {
          // A hint about a future step would tell a guesser which code becomes valid later: burn it.
          if (outcome.reason === 'clock_skew' && outcome.offsetSec > 0) await deps.usedSteps.poison(req.userId, t + outcome.offsetSec / totp.periodSec)
          return rejectSignIn(req.userId, outcome)
        }
        // RFC 6238 §5.2: each step is accepted at most once, and never one older than the last used.
        // The winning claim resets the attempt counter in the same step (signIns.succeed).
        if (!await deps.usedSteps.claimSignIn(req.userId, outcome.step)) return rejectSignIn(req.userId, { reason: 'replayed' })
        return { result: 'verified', verifiedAt: toTimestamp(now) }
      })
    },

    /** `user.reset`: forget everything about the user (idempotent: events arrive at least once). */
    async reset (userId: string): Promise<void> {
      await deps.enrollments.removeAll(userId)
      await deps.signIns.clear(userId)
      await deps.confirmations.clear(userId)
    },

    async remove (req: UserRequest): Promise<RemoveResponse> {
      const { active, pending } = await deps.enrollments.removeAll(req.userId)
      // Only an active factor is a factor: dropping an unconfirmed enrollment is not news to anyone.
      if (active !== undefined) {
        await deps.events.emit(factorRemoved, { userId: req.userId, factor: 'totp', itemId: active.factorId })
      }
      return { removed: active !== undefined || pending }
    },
  }
}
