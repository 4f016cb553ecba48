import type { AttemptGate, Clock, EventSink, OutcomeLedger } from '@warden/service-kit'
import type { PushPlatform, SigninContext } from './messages.js'

export type { AttemptGate, Clock, EventSink }

/** A P-256 public key as a JWK: only the public members are ever stored or accepted. */
export interface PublicJwk {
  readonly kty: 'EC'
  readonly crv: 'P-256'
  readonly x: string
  readonly y: string
}

/** A paired authenticator app. Its FCM token is only ever held sealed (TokenCipher). */
export interface Device {
  readonly deviceId: string
  readonly userId: string
  readonly name: string
  readonly platform: PushPlatform
  readonly publicKeyJwk: PublicJwk
  /** RFC 7638 thumbprint of the key: one key pairs once. */
  readonly keyThumbprint: string
  readonly sealedFcmToken?: string
  /** RFC 3339, UTC. */
  readonly createdAt: string
  /** False once FCM reported the token UNREGISTERED (the app is gone): never asked, never heard. */
  readonly active: boolean
  readonly deactivatedAt?: string
}

/**
 * Durable device data (the `factor_push` bucket). Infrastructure failures surface as BusError
 * UNAVAILABLE (fail closed); anything else thrown is a fault.
 */
export interface DeviceStore {
  list: (userId: string) => Promise<Device[]>
  get: (userId: string, deviceId: string) => Promise<Device | undefined>
  /** Whose device this is: app requests carry only the device id. */
  findOwner: (deviceId: string) => Promise<string | undefined>
  create: (device: Device) => Promise<void>
  /** Applies `change` to the stored device (compare-and-set); undefined if it is gone. */
  update: (userId: string, deviceId: string, change: (d: Device) => Device) => Promise<Device | undefined>
  /** Removes one device; answers what was removed. */
  remove: (userId: string, deviceId: string) => Promise<Device | undefined>
  /** Removes every device of the user; answers what was removed. */
  removeAll: (userId: string) => Promise<Device[]>
}

/** A pairing code's record, found by the code's hash: the code itself is never stored. */
export interface PairingGrant { readonly userId: string, readonly expiresAt: string }

/** Pairing codes (SECURITY.md §2: ≥128 bits, ≤10 min, single use), stored by SHA-256 only. */
export interface PairingCodes {
  put: (codeHash: string, grant: PairingGrant, ttlMs: number) => Promise<void>
  /** The grant without using it up (to refuse early, e.g. at the device limit). */
  peek: (codeHash: string) => Promise<PairingGrant | undefined>
  /** Atomically takes the grant: exactly one of several parallel callers gets it. */
  take: (codeHash: string) => Promise<PairingGrant | undefined>
  /** Forgets every code of the user (2FA reset): a code made before it must not pair after it. */
  revokeAll: (userId: string) => Promise<void>
}

export type ChallengeState = 'pending' | 'approved' | 'reported' | 'denied' | 'failed' | 'expired' | 'cancelled'

/** A push challenge. Lives in Redis, keyed by its id; short-lived by design. */
export interface PushChallenge {
  readonly challengeId: string
  readonly userId: string
  readonly flowId: string
  /** The devices asked; only they can answer. */
  readonly deviceIds: readonly string[]
  /** The 2-digit number shown on the sign-in screen. Never sent to a device. */
  readonly number: number
  /** Sent to the devices with the challenge, signed back in the answer. */
  readonly nonce: string
  readonly context: SigninContext
  readonly action?: string
  readonly createdAt: string
  readonly expiresAt: string
}

export interface ChallengeRecord {
  readonly challenge: PushChallenge
  readonly state: ChallengeState
  readonly decidedBy?: string
  readonly notMe?: boolean
}

export interface ChallengeStore {
  /** Stores a new pending challenge; kept `retainMs` past its expiry so its end can be reported. */
  create: (challenge: PushChallenge, retainMs: number) => Promise<void>
  get: (challengeId: string) => Promise<ChallengeRecord | undefined>
  /** The user's challenges that expire after `now` (any state). */
  listOpen: (userId: string, now: Date) => Promise<ChallengeRecord[]>
  /**
   * Atomically moves the challenge from `from` to `to`: true for exactly one of several parallel
   * callers (the first valid answer wins), false if it was no longer in `from` or is gone.
   */
  transition: (challengeId: string, from: ChallengeState, to: ChallengeState, by?: { deviceId: string, notMe?: boolean }) => Promise<boolean>
}

export type AdmitResult =
  | { admitted: true }
  | { admitted: false, reason: 'paused', until: Date }
  | { admitted: false, reason: 'open', challengeId: string, flowId: string, until: Date }
  | { admitted: false, reason: 'too_many', retryAt: Date }

/**
 * The push-fatigue breaker (SECURITY.md §2, N §3.1.3.2): one open push per user, a few per window,
 * and a pause after denials. Counted per user, atomically, on the injected clock.
 */
export interface FatigueBreaker {
  /** Admits a new push (and counts it) unless paused, another is open, or the window is full. */
  admit: (userId: string, push: { challengeId: string, flowId: string, expiresAt: Date }) => Promise<AdmitResult>
  /** The push ended (answered or expired): another may open. */
  close: (userId: string, challengeId: string) => Promise<void>
  /** The push was never delivered: free its slot and take it out of the window. */
  cancel: (userId: string, challengeId: string) => Promise<void>
  /** Records a denial with its weight ("not me" counts more); answers the pause it started, if any. */
  recordDenial: (userId: string, challengeId: string, weight: number) => Promise<{ pausedUntil?: Date }>
  pausedUntil: (userId: string) => Promise<Date | undefined>
  clear: (userId: string) => Promise<void>
}

/** Single use of device-request ids (`jti`): SECURITY.md §1.5. */
export interface ReplayLedger {
  /** Atomically records `jti` for `scope`; false if it was seen before. Fails closed. */
  claim: (scope: string, jti: string, ttlMs: number) => Promise<boolean>
}

export interface VerifiedDeviceToken {
  readonly claims: Readonly<Record<string, unknown>>
  /** The key that verified it (for pairing: the key embedded in the header). */
  readonly jwk: PublicJwk
}

/** ES256 JWTs signed by device keys. No policy here: the service checks claims, time and replay. */
export interface DeviceTokenVerifier {
  /** The claims as sent, unverified: only to find which device's key to verify with. */
  peek: (jwt: string) => Readonly<Record<string, unknown>> | undefined
  /**
   * Verifies the signature (ES256 only, `typ` warden-push+jwt) with `key`, or with the P-256 public
   * key in the protected `jwk` header for 'embedded'. Undefined if it does not verify.
   */
  verify: (jwt: string, key: PublicJwk | 'embedded') => Promise<VerifiedDeviceToken | undefined>
  thumbprint: (jwk: PublicJwk) => Promise<string>
}

export type SendResult =
  | { status: 'sent' }
  /** FCM UNREGISTERED: the app is gone; never send to this token again. */
  | { status: 'unregistered' }
  /** FCM QUOTA_EXCEEDED: the project's sending budget is spent. */
  | { status: 'quota_exceeded' }
  /** Anything else, after the retries the TTL allowed. */
  | { status: 'failed', reason: string }

/** Wakes the app (FCM). Data messages only: the payload names the challenge and its context. */
export interface PushSender {
  send: (msg: { token: string, data: Readonly<Record<string, string>>, expiresAt: Date, ttlMs: number }) => Promise<SendResult>
}

/** Seals FCM tokens at rest, bound to their device (AAD) so a sealed token cannot move. */
export interface TokenCipher {
  seal: (token: string, deviceId: string) => string
  open: (sealed: string, deviceId: string) => string
}

/** Randomness the service needs; deterministic in unit tests. */
export interface Randomness {
  deviceId: () => string
  challengeId: () => string
  /** ≥128 bits, base64url. */
  pairingCode: () => string
  /** ≥128 bits, base64url. */
  nonce: () => string
  /** 10..99, uniform: the number to match. */
  number: () => number
}

export interface PushSettings {
  readonly challengeTtlMs: number
  /** How long an ended challenge stays readable, for the status long-poll. */
  readonly challengeRetainMs: number
  readonly pairingTtlMs: number
  readonly maxDevices: number
  /** `iat` may be this far from now, either way (device clocks drift). */
  readonly maxTokenSkewMs: number
  /** The weight of a "this wasn't me" denial toward the pause. */
  readonly notMeWeight: number
  /** How often the status long-poll looks again. */
  readonly pollIntervalMs: number
}

export interface PushServiceDeps {
  readonly devices: DeviceStore
  readonly pairing: PairingCodes
  readonly challenges: ChallengeStore
  readonly fatigue: FatigueBreaker
  /** Wrong numbers per user (SECURITY.md §1.1-1.3); it announces its lock, and describe shows it. */
  readonly gate: AttemptGate
  readonly replay: ReplayLedger
  readonly tokens: DeviceTokenVerifier
  /** Absent: no FCM at all; the apps poll. */
  readonly sender?: PushSender
  readonly cipher: TokenCipher
  readonly random: Randomness
  /** Notices sent, by idempotency key (the notifier's event id): a retried notice is not sent twice. */
  readonly notices: OutcomeLedger<{ reached: number }>
  /** factor.enrolled / factor.removed for devices, push.denied, push.paused when the breaker trips. */
  readonly events: EventSink
  readonly clock: Clock
  /** Waits between looks of the long-poll (real time; tests pass one that moves their clock). */
  readonly pause: (ms: number) => Promise<void>
  readonly settings: PushSettings
}
