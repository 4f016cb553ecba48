import { BusError, type FactorName } from '@warden/contracts'
import type { Log } from '@warden/service-kit'

/**
 * The audit trail of second-factor decisions (ASVS 5 §16.3: every authentication decision, with
 * its reason): one log line per answer a factor gave at sign-in or step-up, verified or not. The
 * fields are the fact the audit events will carry; never the code, assertion or any token.
 */
export type DecisionOutcome = 'verified' | 'rejected' | 'reset' | 'error'

export interface SecondFactorDecision {
  readonly userId: string
  readonly transactionId: string
  readonly factor: FactorName
  readonly purpose: 'signin' | 'step-up'
  /** The application: `azp` of the primary token, the MFA token's `aud`. */
  readonly clientId: string
  /** The peer address of the request that carried the answer. */
  readonly ip?: string
  readonly outcome: DecisionOutcome
  /**
   * rejected: the factor's reason (`invalid_code`, `replayed`, `clock_skew`, `expired`,
   * `no_challenge`, `invalid_assertion`, `unknown_credential`, `denied`), or `locked`,
   * `throttled`, `not_enrolled`, `transaction_completed`; reset: `permanent_recovery`;
   * error: the failure (`unavailable`, `timeout`, `internal`, ...).
   */
  readonly reason?: string
  readonly attemptsLeft?: number
}

/** How an error a factor (or the transaction) answered with is recorded. */
export function decisionOfError (err: unknown): Pick<SecondFactorDecision, 'outcome' | 'reason'> {
  if (!BusError.is(err)) return { outcome: 'error', reason: 'internal' }
  switch (err.code) {
    case 'FACTOR_LOCKED': return { outcome: 'rejected', reason: 'locked' }
    case 'RATE_LIMITED': return { outcome: 'rejected', reason: 'throttled' }
    case 'NOT_ENROLLED': return { outcome: 'rejected', reason: 'not_enrolled' }
    case 'CONFLICT': return { outcome: 'rejected', reason: 'transaction_completed' }
    default: return { outcome: 'error', reason: err.code.toLowerCase() }
  }
}

export interface Audit {
  secondFactor: (decision: SecondFactorDecision) => void
}

export function createAudit (log: Log): Audit {
  return {
    secondFactor: (d) => { log.info({ audit: 'second_factor', ...d }, `second factor ${d.outcome}`) },
  }
}
