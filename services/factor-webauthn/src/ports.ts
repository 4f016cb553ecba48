import type { VerifyWebauthnResponse } from '@warden/contracts'
import type { AttemptGate, Clock, EventSink, OutcomeLedger } from '@warden/service-kit'

export type { AttemptGate, Clock, EventSink, OutcomeLedger }

/** Whether a credential lives on one device (BE=0) or may be synced to others (BE=1), WebAuthn L3 §6.1.3. */
export type DeviceType = 'singleDevice' | 'multiDevice'

/** One registered credential of a user (a security key or a passkey). The public key is not a secret. */
export interface CredentialRecord {
  /** Warden's handle for the credential: `wak_` + SHA-256 of the raw credential id, base64url. */
  readonly id: string
  /** The WebAuthn credential id, base64url (at most 1023 bytes raw). */
  readonly credentialId: string
  /** The COSE public key, base64url. */
  readonly publicKey: string
  /** The last signCount accepted; only ever raised, by compare-and-set. */
  readonly counter: number
  readonly transports: readonly string[]
  readonly deviceType: DeviceType
  /** BS: the last reported backup state. */
  readonly backedUp: boolean
  readonly name: string
  /** RFC 3339, UTC. */
  readonly createdAt: string
  readonly lastUsedAt?: string
  /** The authenticator model (zeros with `none` attestation). */
  readonly aaguid: string
  /** The attestation format it was registered with. */
  readonly fmt: string
  /**
   * Set when an authentic assertion carried a counter that did not increase: the key may have
   * been copied. Such a credential is refused until its user removes it.
   */
  readonly suspectedCloneAt?: string
}

export interface Revisioned<T> { readonly value: T, readonly revision: number }

/**
 * Durable credentials, one bucket. Besides each user's credentials it keeps a global index
 * credential id → owner, claimed with create-if-absent, so one credential id is registered to at
 * most one user (WebAuthn L3 §7.1 step 26) even when two registrations race. Infrastructure
 * failures surface as BusError UNAVAILABLE (fail closed).
 */
export interface CredentialStore {
  /** The user's WebAuthn user handle (64 random bits or more, base64url); created on first use and kept until reset. */
  userHandle: (userId: string) => Promise<string>
  /** The handle if the user has one; never creates it. */
  findUserHandle: (userId: string) => Promise<string | undefined>
  list: (userId: string) => Promise<Array<Revisioned<CredentialRecord>>>
  get: (userId: string, id: string) => Promise<Revisioned<CredentialRecord> | undefined>
  /**
   * Claims `id` in the global index for `userId`, then stores the record. False when the id is
   * already registered (to anyone); nothing is written then.
   */
  add: (userId: string, record: CredentialRecord) => Promise<boolean>
  /** Replaces the record only if it is still at `revision`: false if another write came first. */
  update: (userId: string, record: CredentialRecord, revision: number) => Promise<boolean>
  /** Removes the record and its index entry; the removed record, or undefined if there was none. */
  remove: (userId: string, id: string) => Promise<CredentialRecord | undefined>
  /** Removes every credential, index entry and the user handle (`user.reset`); the ids removed. */
  removeAll: (userId: string) => Promise<string[]>
}

/** A challenge waiting for its ceremony's answer. */
export interface PendingChallenge {
  /** base64url of 32 random bytes. */
  readonly challenge: string
  /** Whether the answer must carry UV. */
  readonly userVerification: 'required' | 'preferred'
  /** From the injected clock; the store's own TTL only bounds how long it is kept. */
  readonly expiresAt: string
}

/** Where a registration or an authentication challenge waits. */
export type ChallengeSlot =
  | { readonly kind: 'registration', readonly userId: string }
  /** Bound to the sign-in transaction: another transaction cannot use it. */
  | { readonly kind: 'authentication', readonly userId: string, readonly flowId: string }

/**
 * Single-use challenges (SECURITY.md §1.5). Fails closed (UNAVAILABLE).
 */
export interface ChallengeStore {
  /** Stores the slot's challenge, replacing any earlier one, kept at most `ttlMs`. */
  put: (slot: ChallengeSlot, challenge: PendingChallenge, ttlMs: number) => Promise<void>
  /** Atomically reads and deletes (GETDEL): of parallel callers, exactly one gets it. */
  take: (slot: ChallengeSlot) => Promise<PendingChallenge | undefined>
  /** Drops the registration challenge of a user (reset). */
  forget: (userId: string) => Promise<void>
}

/** What the service requires of an answer; the ceremony adapter checks each item. */
export interface RelyingParty {
  readonly rpId: string
  readonly rpName: string
  /** Exact origins (scheme, host and port); compared as strings, never by suffix. */
  readonly origins: readonly string[]
}

export interface RegistrationOptionsInput {
  readonly challenge: Uint8Array
  readonly userHandle: string
  readonly userName: string
  readonly exclude: ReadonlyArray<{ credentialId: string, transports: readonly string[] }>
  readonly userVerification: 'required' | 'preferred'
  readonly attestation: AttestationPolicy
  readonly timeoutMs: number
}

export interface AuthenticationOptionsInput {
  readonly challenge: Uint8Array
  readonly allow: ReadonlyArray<{ credentialId: string, transports: readonly string[] }>
  readonly userVerification: 'required' | 'preferred'
  readonly timeoutMs: number
}

export type AttestationPolicy =
  /** Ask for none and accept any statement, `none` included: the key's model is not checked (the default). */
  | { readonly conveyance: 'none' }
  /**
   * Ask for direct attestation and accept only a statement that verifies to a trusted root
   * (never `none` or self attestation); with `aaguids`, only those authenticator models.
   */
  | { readonly conveyance: 'direct', readonly aaguids?: readonly string[] }

/** Why a ceremony check failed: a category for logs and for the answer, never a value from the response. */
export type CheckFailure =
  | 'malformed' | 'type' | 'challenge' | 'origin' | 'cross_origin' | 'rp_id' | 'user_presence' | 'user_verification'
  | 'backup_flags' | 'algorithm' | 'attestation' | 'signature'

export type RegistrationCheck =
  | {
    ok: true
    credentialId: string
    publicKey: string
    counter: number
    transports: string[]
    deviceType: DeviceType
    backedUp: boolean
    userVerified: boolean
    aaguid: string
    fmt: string
    /** Whether the attestation statement chains to a trusted root (`none` and self attestation do not). */
    attested: boolean
  }
  | { ok: false, why: CheckFailure }

export type AssertionCheck =
  | { ok: true, counter: number, userVerified: boolean, deviceType: DeviceType, backedUp: boolean }
  | { ok: false, why: CheckFailure }

/**
 * The WebAuthn ceremonies (L3 §7.1, §7.2), done by a library. Pure: no I/O, no clock. Every check
 * named in the inputs is done; any malformed response is `{ ok: false }`, never a throw.
 */
export interface Ceremony {
  registrationOptions: (rp: RelyingParty, input: RegistrationOptionsInput) => Promise<object>
  authenticationOptions: (rp: RelyingParty, input: AuthenticationOptionsInput) => Promise<object>
  /**
   * Checks a RegistrationResponseJSON: type `webauthn.create`, the challenge, an exact origin,
   * the RP ID hash, UP (and UV when required), not cross-origin, a supported algorithm and the
   * attestation statement.
   */
  verifyRegistration: (rp: RelyingParty, input: { response: object, challenge: string, requireUserVerification: boolean }) => Promise<RegistrationCheck>
  /**
   * Checks an AuthenticationResponseJSON for the given credential: type `webauthn.get`, the
   * challenge, an exact origin, the RP ID hash, not cross-origin, UP (and UV when required), the
   * backup flags and the signature. The signCount is returned, not judged: that is the service's.
   */
  verifyAssertion: (rp: RelyingParty, input: { response: object, challenge: string, requireUserVerification: boolean, publicKey: string, credentialId: string }) => Promise<AssertionCheck>
}

export interface IdSource {
  /** `wak_` + SHA-256(raw credential id), base64url: stable, short, and fits every id field. */
  credentialHandle: (credentialId: string) => string
  /** 32 random bytes (SECURITY.md §2: WebAuthn challenge). */
  challenge: () => Uint8Array
}

export interface WebauthnSettings {
  readonly rp: RelyingParty
  /** Whether UV is required always, or only when a caller asks (step-up). */
  readonly userVerification: 'required' | 'preferred'
  readonly attestation: AttestationPolicy
  /** Life of a challenge, and the ceremony timeout given to the browser (300 s). */
  readonly challengeTtlMs: number
  readonly maxCredentials: number
}

export interface WebauthnServiceDeps {
  readonly credentials: CredentialStore
  readonly challenges: ChallengeStore
  readonly ceremony: Ceremony
  /** Failed sign-in attempts per user (SECURITY.md §1.1-1.3); it announces its locks. */
  readonly attempts: AttemptGate
  /** Outcomes of sign-in verifications by idempotency key. */
  readonly verifyOutcomes: OutcomeLedger<VerifyWebauthnResponse>
  readonly clock: Clock
  /** factor.enrolled, factor.removed and credential.flagged. */
  readonly events: EventSink
  readonly ids: IdSource
  readonly settings: WebauthnSettings
}
