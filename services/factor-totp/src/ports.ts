import type { VerifyTotpResponse } from '@warden/contracts'
import type { AdmittingLedger, AttemptGate, Clock, EventSink, OutcomeLedger } from '@warden/service-kit'

export type { AdmittingLedger, AttemptGate, Clock, EventSink, OutcomeLedger }

/** The confirmed authenticator of a user. The seed is only ever held sealed (SecretCipher). */
export interface ActiveFactor {
  /** The enrollment id it was confirmed from; the `itemId` of its events. */
  readonly factorId: string
  readonly sealedSecret: string
  /** RFC 3339, UTC. */
  readonly createdAt: string
}

/** An enrollment waiting for its first code; kept apart from the active factor until confirmed. */
export interface PendingEnrollment {
  readonly enrollmentId: string
  readonly sealedSecret: string
  readonly createdAt: string
  /** From the injected clock: the store has no per-key TTL on nats-server 2.9. */
  readonly expiresAt: string
}

export interface Revisioned<T> { readonly value: T, readonly revision: number }

/**
 * Durable enrollment data. Infrastructure failures surface as BusError UNAVAILABLE (fail
 * closed); anything else thrown is a fault.
 */
export interface EnrollmentStore {
  getActive: (userId: string) => Promise<ActiveFactor | undefined>
  /** Replaces the active factor, if any. */
  putActive: (userId: string, factor: ActiveFactor) => Promise<void>
  getPending: (userId: string) => Promise<Revisioned<PendingEnrollment> | undefined>
  /** Replaces any earlier pending enrollment; never touches the active factor. */
  putPending: (userId: string, pending: PendingEnrollment) => Promise<void>
  /**
   * Removes the pending enrollment only if it is still at `revision`: true for exactly one of
   * several parallel callers, false for the others (or if it is gone).
   */
  takePending: (userId: string, revision: number) => Promise<boolean>
  /** Removes the active factor and any pending enrollment; says what existed. */
  removeAll: (userId: string) => Promise<{ active: ActiveFactor | undefined, pending: boolean }>
}

/** The replay ledger (RFC 6238 §5.2, SECURITY.md §1.5). */
export interface UsedStepGuard {
  /**
   * Atomically records `step` as the user's last used step if it is strictly greater than the
   * previous one: true for exactly one of several parallel callers. Fails closed (UNAVAILABLE).
   */
  claim: (userId: string, step: number) => Promise<boolean>
  /**
   * claim(), and only when it wins, the success's reset of the sign-in attempt counter (what
   * `signIns.succeed` does), in the same atomic step: no window in which the step is used but the
   * counter not yet reset.
   */
  claimSignIn: (userId: string, step: number) => Promise<boolean>
  /**
   * Marks a future step as unusable. A clock-skew hint for a code of step T+k tells whoever typed
   * it that the code will be valid in k steps; poisoning that step takes the gift back, so a
   * guesser cannot learn codes ahead of time. A later claim of the step then fails.
   */
  poison: (userId: string, step: number) => Promise<void>
}

/** RFC 6238 arithmetic and encodings. Pure: no I/O, no clock of its own. */
export interface TotpAlgorithm {
  readonly periodSec: number
  /** A fresh random seed (160 bits by default). */
  newSecret: () => Uint8Array
  /** Base32 without padding, for manual entry. */
  encodeSecret: (secret: Uint8Array) => string
  /** The time step T that contains `at`. */
  stepAt: (at: Date) => number
  /** The code of one time step. */
  codeAt: (secret: Uint8Array, step: number) => string
  /** Whether `code` is the code of `step`, compared in constant time. */
  matches: (secret: Uint8Array, step: number, code: string) => boolean
  /** The otpauth:// URI an authenticator app scans. Secret: never log it. */
  otpauthUri: (opts: { issuer: string, accountName: string, secret: Uint8Array }) => string
}

/** Seals seeds at rest, bound to their owner (AAD) so a sealed seed cannot move to another user. */
export interface SecretCipher {
  seal: (secret: Uint8Array, userId: string) => string
  open: (sealed: string, userId: string) => Uint8Array
}

export interface QrRenderer {
  /** An SVG image of `text`. */
  svg: (text: string) => Promise<string>
}

export interface IdSource {
  /** A new enrollment id matching the contracts' OpaqueId. */
  enrollmentId: () => string
}

export interface TotpSettings {
  readonly issuer: string
  readonly enrollmentTtlMs: number
}

export interface TotpServiceDeps {
  readonly enrollments: EnrollmentStore
  readonly usedSteps: UsedStepGuard
  readonly totp: TotpAlgorithm
  readonly cipher: SecretCipher
  /** Sign-in attempts per user (SECURITY.md §1.1-1.3); its lock is what describe shows and what is announced. */
  readonly signIns: AttemptGate
  /** Confirmations of a pending enrollment, counted apart so they never lock sign-in. */
  readonly confirmations: AttemptGate
  /**
   * Outcomes of sign-in verifications by idempotency key: a retry after a lost reply is answered
   * from it. Its begin also counts the attempt on the counter of `signIns`.
   */
  readonly verifyOutcomes: AdmittingLedger<VerifyTotpResponse>
  readonly clock: Clock
  readonly events: EventSink
  readonly qr: QrRenderer
  readonly ids: IdSource
  readonly settings: TotpSettings
}
