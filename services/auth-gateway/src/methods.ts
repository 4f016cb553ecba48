import {
  pushStatus, startPush, startSms, verifyRecovery, verifySms, verifyTotp, verifyWebauthn, webauthnOptions, type FactorName,
} from '@warden/contracts'
import type { AttemptKey } from './attempt-key.js'
import type { FactorClient, FactorStatus } from './factors.js'
import type { ActiveChallenge, ChallengeFlow } from './flows.js'
import type { Amr } from './plugins/tokens.js'

/**
 * Pure decisions about factors and methods, and one strategy per method (Kratos' strategies):
 * how a method is started (`challenge`) and how it is verified (`verify`). The factor services
 * are the authority on who has what: a method the user does not have is their NOT_ENROLLED.
 */

/** Whether the user has 2FA: known yes, known no, or unknown because a factor did not answer. */
export type TwoFactorState = 'enrolled' | 'none' | 'unknown'

export function twoFactorState (statuses: readonly FactorStatus[]): TwoFactorState {
  if (statuses.some((s) => s.available && s.enrolled)) return 'enrolled'
  return statuses.every((s) => s.available) ? 'none' : 'unknown'
}

/** The seeds' order: push, security key, authenticator app, SMS, emergency code. */
export const METHOD_ORDER: readonly FactorName[] = ['push', 'webauthn', 'totp', 'sms', 'recovery']

/** Weaker fallbacks: never the default while a stronger factor is enrolled. */
const FALLBACK: readonly FactorName[] = ['sms', 'recovery']

export function isLocked (s: FactorStatus, now: Date): boolean {
  return s.available && s.lockedUntil !== undefined && Date.parse(s.lockedUntil) > now.getTime()
}

/** The methods a transaction offers: enrolled ones, and those whose service did not answer (it cannot be told), in preference order. */
export function offeredMethods (statuses: readonly FactorStatus[]): FactorStatus[] {
  return METHOD_ORDER.flatMap((m) => statuses.filter((s) => s.factor === m && (!s.available || s.enrolled)))
}

/**
 * The method a sign-in starts with: the first enrolled, answering, unlocked method in the seeds'
 * order. SMS and the emergency code are candidates only when the user has no stronger factor
 * (push, security key, authenticator app) enrolled, even a locked one. When every candidate is
 * locked there is no default: the UI shows the list ("Try another way").
 */
export function chooseDefault (statuses: readonly FactorStatus[], now: Date): FactorName | undefined {
  const enrolled = METHOD_ORDER.flatMap((m) => statuses.filter((s) => s.factor === m && s.available && s.enrolled))
  const stronger = enrolled.filter((s) => !FALLBACK.includes(s.factor))
  const candidates = stronger.length > 0 ? stronger : enrolled
  return candidates.find((s) => !isLocked(s, now))?.factor
}

// ---- strategies ----------------------------------------------------------------------------------

/** RFC 8176 `amr` per method; every MFA token adds `mfa`. */
export const AMR: Readonly<Record<FactorName, readonly Amr[]>> = {
  totp: ['otp'],
  sms: ['sms'],
  // The contract cannot tell a roaming key from a platform authenticator: hwk for both.
  webauthn: ['hwk'],
  // A signed answer from the paired app's key, hardware-backed or not: RFC 8176 `pop`.
  push: ['pop'],
  // A look-up secret has no RFC 8176 value of its own: a one-time password.
  recovery: ['otp'],
}

export type RejectReason =
  | 'invalid_code' | 'replayed' | 'clock_skew' | 'expired' | 'no_challenge' | 'invalid_assertion' | 'unknown_credential'

export type VerifyOutcome =
  | { result: 'verified', amr: readonly Amr[], newRecoveryCode?: string, reset?: true }
  | { result: 'rejected', reason: RejectReason, attemptsLeft?: number, offsetSec?: number }

/** What the verify route passes on (the REST schema has already checked the shape per method). */
export type VerifyInput =
  | { method: 'totp', code: string }
  | { method: 'sms', code: string }
  | { method: 'webauthn', response: object }
  | { method: 'recovery', code: string, recoveryMode: 'temporary' | 'permanent' }

export type ChallengeInput =
  | { method: 'push', deviceId?: string, rememberDevice?: boolean }
  | { method: 'sms', phoneId?: string }
  | { method: 'webauthn' }
  | { method: 'totp' }
  | { method: 'recovery' }

export type ChallengeAnswer =
  | { challengeId: string, expiresAt: string, numberToMatch: number }
  | { reference: string, maskedPhone: string, expiresAt: string }
  | { options: object }
  | Record<string, never>

export interface ChallengeContext { appName: string, ip?: string, userAgent?: string, now: Date }

/** A refusal, with what the UI can tell the user: failures left, and the device clock's offset for clock_skew. */
const rejected = (reason: RejectReason, attemptsLeft: number | undefined, offsetSec?: number): VerifyOutcome => ({
  result: 'rejected',
  reason,
  ...(attemptsLeft === undefined ? {} : { attemptsLeft }),
  ...(offsetSec === undefined ? {} : { offsetSec }),
})

/** Starts a method at the factor service; answers what the UI needs and what the transaction records. */
export async function startMethod (
  factors: FactorClient, flow: ChallengeFlow, input: ChallengeInput, ctx: ChallengeContext,
): Promise<{ answer: ChallengeAnswer, active: ActiveChallenge }> {
  const startedAt = ctx.now.toISOString()
  switch (input.method) {
    case 'push': {
      const res = await factors.call(startPush, {
        userId: flow.userId,
        flowId: flow.id,
        ...(input.deviceId === undefined ? {} : { deviceId: input.deviceId }),
        context: {
          appName: ctx.appName.slice(0, 100),
          ...(ctx.ip === undefined ? {} : { ip: ctx.ip.slice(0, 45) }),
          ...(ctx.userAgent === undefined ? {} : { userAgent: ctx.userAgent.slice(0, 300) }),
        },
      })
      return {
        answer: res,
        active: {
          method: 'push', startedAt, challengeId: res.challengeId, expiresAt: res.expiresAt,
          ...(input.deviceId === undefined ? {} : { deviceId: input.deviceId }),
          ...(input.rememberDevice === true ? { rememberDevice: true } : {}),
        },
      }
    }
    case 'sms': {
      if (input.phoneId === undefined) throw new Error('phoneId is resolved before startMethod')
      const res = await factors.call(startSms, {
        userId: flow.userId, flowId: flow.id, phoneId: input.phoneId, ...(ctx.ip === undefined ? {} : { ip: ctx.ip.slice(0, 45) }),
      })
      return { answer: res, active: { method: 'sms', startedAt, phoneId: input.phoneId, expiresAt: res.expiresAt } }
    }
    case 'webauthn': {
      const res = await factors.call(webauthnOptions, { userId: flow.userId, flowId: flow.id })
      return { answer: { options: res.options }, active: { method: 'webauthn', startedAt } }
    }
    case 'totp':
    case 'recovery':
      // Nothing to send: the user reads the code from the app, or from where the emergency code is kept.
      return { answer: {}, active: { method: input.method, startedAt } }
  }
}

/** Verifies one method at its factor service. */
export async function verifyMethod (factors: FactorClient, flow: ChallengeFlow, input: VerifyInput, attemptKey: AttemptKey): Promise<VerifyOutcome> {
  // If the reply is lost, a retry of the same answer (the gateway's, or the user's) carries the
  // same key and is answered from the factor's record, not tried a second time (SECURITY.md §3).
  const ids = { userId: flow.userId, flowId: flow.id, idempotencyKey: attemptKey(flow.id, input) }
  const retryable = { retryOnTimeout: true } as const
  switch (input.method) {
    case 'totp': {
      const res = await factors.call(verifyTotp, { ...ids, code: input.code }, retryable)
      return res.result === 'verified' ? { result: 'verified', amr: AMR.totp } : rejected(res.reason, res.attemptsLeft, res.offsetSec)
    }
    case 'sms': {
      const res = await factors.call(verifySms, { ...ids, code: input.code }, retryable)
      return res.result === 'verified' ? { result: 'verified', amr: AMR.sms } : rejected(res.reason, res.attemptsLeft)
    }
    case 'webauthn': {
      const res = await factors.call(verifyWebauthn, { ...ids, response: input.response }, retryable)
      return res.result === 'verified' ? { result: 'verified', amr: AMR.webauthn } : rejected(res.reason, res.attemptsLeft)
    }
    case 'recovery': {
      const res = await factors.call(verifyRecovery, { ...ids, code: input.code, mode: input.recoveryMode }, retryable)
      if (res.result === 'rejected') return rejected(res.reason, res.attemptsLeft)
      if (input.recoveryMode === 'permanent') return { result: 'verified', amr: AMR.recovery, reset: true }
      return res.newCode === undefined
        ? { result: 'verified', amr: AMR.recovery }
        : { result: 'verified', amr: AMR.recovery, newRecoveryCode: res.newCode }
    }
  }
}

/** The push long-poll at the factor service: waits up to `waitMs` for the state to leave pending. */
export async function pollPush (
  factors: FactorClient, flow: ChallengeFlow, challengeId: string, waitMs: number,
): Promise<'pending' | 'approved' | 'denied' | 'expired'> {
  const res = await factors.call(pushStatus, { userId: flow.userId, flowId: flow.id, challengeId, waitMs }, { extraTimeoutMs: waitMs })
  return res.state
}
