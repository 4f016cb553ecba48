import { FACTORS, type Amr, type FactorName } from '@warden/contracts'
import type { FactorStatus } from './factor-client.js'

/**
 * Pure decisions about factors and methods: whether the user has 2FA, which methods a sign-in
 * offers and which one it starts with. The factor services are the authority on who has what: a
 * method the user does not have is their NOT_ENROLLED. How each method is started and verified is
 * its strategy's business (src/factors/<name>.ts).
 */

/** Whether the user has 2FA: known yes, known no, or unknown because a factor did not answer. */
export type TwoFactorState = 'enrolled' | 'none' | 'unknown'

export function twoFactorState (statuses: readonly FactorStatus[]): TwoFactorState {
  if (statuses.some((s) => s.available && s.enrolled)) return 'enrolled'
  return statuses.every((s) => s.available) ? 'none' : 'unknown'
}

/** The seeds' order: push, security key, authenticator app, SMS, emergency code (contracts' FACTORS). */
export const METHOD_ORDER: readonly FactorName[] = FACTORS.map((f) => f.name)

/** Weaker fallbacks (SMS, the emergency code): never the default while a stronger factor is enrolled. */
const FALLBACK: readonly FactorName[] = FACTORS.filter((f) => f.fallback).map((f) => f.name)

/** RFC 8176 `amr` per method, from its contract; every MFA token adds `mfa`. */
export const AMR: Readonly<Record<FactorName, readonly Amr[]>> = Object.fromEntries(FACTORS.map((f) => [f.name, f.amr])) as Record<FactorName, readonly Amr[]>

export function isLocked (s: FactorStatus, now: Date): boolean {
  return s.available && s.lockedUntil !== undefined && Date.parse(s.lockedUntil) > now.getTime()
}

/** The methods a transaction offers: enrolled ones, and those whose service did not answer (it cannot be told), in preference order. */
export function offeredMethods (statuses: readonly FactorStatus[]): FactorStatus[] {
  return METHOD_ORDER.flatMap((m) => statuses.filter((s) => s.factor === m && (!s.available || s.enrolled)))
}

/**
 * The method a sign-in starts with: the first enrolled, answering, unlocked method in the seeds'
 * order. Fallbacks (SMS, the emergency code) are candidates only when the user has no stronger
 * factor (push, security key, authenticator app) enrolled, even a locked one. When every candidate
 * is locked there is no default: the UI shows the list ("Try another way").
 */
export function chooseDefault (statuses: readonly FactorStatus[], now: Date): FactorName | undefined {
  const enrolled = METHOD_ORDER.flatMap((m) => statuses.filter((s) => s.factor === m && s.available && s.enrolled))
  const stronger = enrolled.filter((s) => !FALLBACK.includes(s.factor))
  const candidates = stronger.length > 0 ? stronger : enrolled
  return candidates.find((s) => !isLocked(s, now))?.factor
}
