import type { RecoveryMode } from '@warden/contracts'
import type { AttemptGate, Clock, EventSink, OutcomeLedger } from '@warden/service-kit'

export type { AttemptGate, Clock, EventSink, OutcomeLedger }

/**
 * The user's emergency code ("Master Key"). Only its slow hash is kept; the plaintext exists in
 * memory while it is made and shown, and, sealed, in `reveal` for a few minutes.
 */
export interface EmergencyCode {
  /** Names this code in events and describe items; a new code gets a new id. */
  readonly codeId: string
  /** Self-describing slow hash (algorithm, parameters and salt travel with it: a PHC string). */
  readonly hash: string
  /** RFC 3339, UTC. */
  readonly createdAt: string
  /** When the user confirmed "I have safely copied and stored this code." */
  readonly acknowledgedAt?: string
  /**
   * The plaintext sealed (SecretCipher) for the request that made it, so a retry of that request
   * after a lost reply shows the same code instead of making a third one (SECURITY.md §3).
   * Ignored after `until`; dropped at the next write and when the code is acknowledged.
   */
  readonly reveal?: Reveal
}

export interface Reveal {
  /** The request it belongs to: `<flowId>/<idempotencyKey>` for a sign-in, `issue/<key>` for self-service. */
  readonly attempt: string
  readonly sealed: string
  readonly until: string
}

/** A one-time code issued by support. It replaces nothing until it is spent. */
export interface SupportCode {
  readonly codeId: string
  readonly hash: string
  readonly createdAt: string
  /** At most 24 h after createdAt. Kept past it (so the user can be told "expired") until the next write. */
  readonly expiresAt: string
}

/** The receipt of the last spend: a retry of that very request (lost reply) gets the same answer. */
export interface Spend {
  readonly attempt: string
  readonly codeId: string
  readonly mode: RecoveryMode
  readonly verifiedAt: string
  readonly until: string
}

/**
 * Everything the service keeps for one user, in one entry, so every change (spend and replace,
 * regenerate, acknowledge, support code) is one compare-and-set: two parallel spends of one code
 * have exactly one winner, and exactly one new code hash exists afterwards.
 */
export interface RecoveryRecord {
  readonly v: 1
  readonly code?: EmergencyCode
  readonly support?: SupportCode
  readonly spent?: Spend
}

export interface Revisioned<T> { readonly value: T, readonly revision: number }

/**
 * Durable recovery data, one entry per user, on the store port (KV by default). Infrastructure
 * failures surface as BusError UNAVAILABLE (fail closed); anything else thrown is a fault.
 */
export interface RecoveryStore {
  get: (userId: string) => Promise<Revisioned<RecoveryRecord> | undefined>
  /**
   * Writes `record` only if the entry is still at `revision` (`undefined`: only if there is no
   * entry). True for exactly one of several parallel writers from one read; false for the others.
   */
  save: (userId: string, record: RecoveryRecord, revision: number | undefined) => Promise<boolean>
  /** Deletes the user's entry whatever its revision (`user.reset`); true if there was one. Idempotent. */
  removeAll: (userId: string) => Promise<boolean>
}

/** Slow, salted hashing of codes (Argon2id by default; NIST 800-63B-4 §3.1.2.2). */
export interface CodeHasher {
  /** Hashes a canonical code (16 base32 characters) with a fresh salt. */
  hash: (canonical: string) => Promise<string>
  /** Whether `canonical` is the code `hash` was made from; the digests are compared in constant time. */
  matches: (hash: string, canonical: string) => Promise<boolean>
}

/** Fresh codes from a CSPRNG. */
export interface CodeSource {
  /** 80 random bits as 16 canonical base32 characters (no dashes). */
  newCode: () => string
}

/** Seals a freshly shown code for the retry window, bound (AAD) to its user and code id. */
export interface CodeSealer {
  seal: (canonical: string, userId: string, codeId: string) => string
  /** Throws if `sealed` was made for another user or code, or under a key no longer in the ring. */
  open: (sealed: string, userId: string, codeId: string) => string
}

export interface IdSource {
  /** A new code id matching the contracts' OpaqueId. */
  codeId: () => string
}

export interface RecoverySettings {
  /** How long a retry of a lost reply gets the same answer (and the same new code): 5 min. */
  readonly retryWindowMs: number
  /** Life of a support code when the admin does not say. */
  readonly supportCodeTtlMs: number
  /** The longest a support code may live: 24 h at most. */
  readonly supportCodeMaxTtlMs: number
}

export interface RecoveryServiceDeps {
  readonly store: RecoveryStore
  readonly hasher: CodeHasher
  readonly codes: CodeSource
  readonly sealer: CodeSealer
  /**
   * Failed code attempts per user, its own budget: 10 in 15 min lock for 15 min, 100 in a row
   * disable code recovery until support acts (issues a support code, or resets the user).
   */
  readonly gate: AttemptGate
  /** Outcomes of sign-in verifications by idempotency key; never holds a code (see Reveal). */
  readonly verifyOutcomes: OutcomeLedger<RecordedVerify>
  readonly clock: Clock
  /** Security events (never a code). */
  readonly events: EventSink
  readonly ids: IdSource
  readonly settings: RecoverySettings
}

/** What the outcome ledger records of a verify: the answer minus the new code, which only the store holds (sealed). */
export type RecordedVerify =
  | { result: 'verified', verifiedAt: string, newCodeId?: string }
  | { result: 'rejected', reason: 'invalid_code' | 'replayed' | 'expired', attemptsLeft?: number }
