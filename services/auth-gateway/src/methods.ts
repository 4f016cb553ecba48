import { verifyTotp, type FactorName } from '@warden/contracts'
import type { FactorClient, FactorStatus } from './factors.js'
import type { ChallengeFlow } from './flows.js'
import type { Amr } from './plugins/tokens.js'

/**
 * Pure decisions about factors and methods, and one verification strategy per method (Kratos'
 * strategies). Today only TOTP verifies; the next factors add a strategy each, and a `challenge`
 * step where they need one (push, SMS, WebAuthn).
 */

/** Whether the user has 2FA: known yes, known no, or unknown because a factor did not answer. */
export type TwoFactorState = 'enrolled' | 'none' | 'unknown'

export function twoFactorState (statuses: readonly FactorStatus[]): TwoFactorState {
  if (statuses.some((s) => s.available && s.enrolled)) return 'enrolled'
  return statuses.every((s) => s.available) ? 'none' : 'unknown'
}

/** Factors that are weaker fallbacks: never the default while a stronger factor is enrolled. */
const FALLBACK: readonly FactorName[] = ['sms', 'recovery']

export function isLocked (s: FactorStatus, now: Date): boolean {
  return s.available && s.lockedUntil !== undefined && Date.parse(s.lockedUntil) > now.getTime()
}

/**
 * The method a sign-in starts with: the first usable one in preference order, skipping SMS and
 * the emergency code while a stronger factor is enrolled (even if that one is locked right now).
 * `statuses` are in preference order and only enrolled (or unknown) ones.
 */
export function chooseDefault (methods: readonly FactorStatus[], now: Date): FactorName | undefined {
  const strongerEnrolled = methods.some((m) => !FALLBACK.includes(m.factor))
  const candidates = strongerEnrolled ? methods.filter((m) => !FALLBACK.includes(m.factor)) : methods
  const usable = candidates.find((m) => m.available && !isLocked(m, now))
  return (usable ?? candidates[0])?.factor
}

export type VerifyOutcome =
  | { result: 'verified', amr: readonly Amr[] }
  | { result: 'rejected', reason: 'invalid_code' | 'replayed' | 'clock_skew', attemptsLeft?: number }

/** The part of a verify request a strategy reads; each method has its own payload schema. */
export interface VerifyInput { code: string }

export interface MethodStrategy {
  readonly method: FactorName
  /** RFC 8176 methods this factor proves; `mfa` is added by the sign-in itself. */
  readonly amr: readonly Amr[]
  verify: (factors: FactorClient, flow: ChallengeFlow, input: VerifyInput) => Promise<VerifyOutcome>
}

const totpStrategy: MethodStrategy = {
  method: 'totp',
  amr: ['otp'],
  async verify (factors, flow, input) {
    const res = await factors.call(verifyTotp, { userId: flow.userId, flowId: flow.id, code: input.code })
    if (res.result === 'verified') return { result: 'verified', amr: ['otp'] }
    return res.attemptsLeft === undefined
      ? { result: 'rejected', reason: res.reason }
      : { result: 'rejected', reason: res.reason, attemptsLeft: res.attemptsLeft }
  },
}

export const STRATEGIES: Readonly<Partial<Record<FactorName, MethodStrategy>>> = { totp: totpStrategy }
