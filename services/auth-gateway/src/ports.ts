import type { FactorName, PayloadOf, userReset } from '@warden/contracts'
import type { SigninFlow } from './flows.js'
import type { Policy } from './policy.js'

/**
 * What the gateway's decisions (signin.ts, self-service.ts, admin.ts) need from the world. The
 * adapters (src/adapters/) implement these over Redis, the store port and the event stream; each
 * fails closed itself: a store that cannot be reached is a BusError UNAVAILABLE (503 with
 * Retry-After), never a pass and never a 500.
 */

export interface PolicyStore {
  get: (clientId: string) => Promise<Policy & { clientId: string, isDefault: boolean }>
  put: (clientId: string, policy: Policy) => Promise<void>
}

/** Sign-in transactions: writes are compare-and-set on the record's `rev` (one winner). */
export interface FlowStore {
  create: (flow: SigninFlow) => Promise<void>
  load: (id: string) => Promise<SigninFlow | undefined>
  /** Writes `next` if the stored record is still at `expectedRev`; false if someone else won. */
  replace: (next: SigninFlow, expectedRev: number) => Promise<boolean>
}

/**
 * "Remember this device for 30 days" (seeds; SECURITY.md §4.1 deviation). The browser holds an
 * opaque 256-bit token; Redis holds only its HMAC. Each use rotates it atomically, so a copied
 * token works at most once and parallel uses have exactly one winner. Expiry is judged with the
 * injected clock against `expiresAt`; the Redis TTL only collects garbage.
 */
export interface RememberedDevice {
  id: string
  userId: string
  label: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
}

export interface RememberDeviceStore {
  issue: (userId: string, opts: { label: string, days: number }) => Promise<{ token: string, device: RememberedDevice }>
  /**
   * Spends `token` for `userId` and returns its device with a rotated token, or undefined when the
   * token is unknown, belongs to someone else, or has expired. `maxAgeDays` is the policy's limit
   * on the device's age (0 = never honoured).
   */
  use: (userId: string, token: string, maxAgeDays: number) => Promise<{ token: string, device: RememberedDevice } | undefined>
  /**
   * The same checks as `use`, without spending or rotating the token: for sign-ins that will ask
   * for a factor anyway (step-up, an adaptive sign-in judged risky), so the device stays remembered.
   */
  peek: (userId: string, token: string, maxAgeDays: number) => Promise<RememberedDevice | undefined>
  list: (userId: string) => Promise<RememberedDevice[]>
  revoke: (userId: string, id: string) => Promise<boolean>
  revokeAll: (userId: string) => Promise<number>
}

/** Where a sign-in came from, for its events: the application, the user's IP, the user agent. */
export interface SigninEventContext { readonly clientId?: string | undefined, readonly ip?: string | undefined, readonly userAgent?: string | undefined }

/**
 * The audit events of sign-in (issue 14). Fire and forget: never waits for the stream, never
 * throws; a lost event is logged, and the sign-in goes on.
 */
export interface SigninEvents {
  /** A second-factor answer was refused (`verification.rejected`, with the reason: audit only). */
  rejected: (e: { userId: string, factor: FactorName, reason: string, context: SigninEventContext }) => void
  /** A remember-device token was issued (`device.remembered`). */
  remembered: (e: { userId: string, deviceId: string, context: SigninEventContext }) => void
  /** A sign-in succeeded: `network.seen` when its network is new for this user. */
  signedIn: (e: { userId: string, context: SigninEventContext }) => void
}

export interface RiskSignals {
  /** Known network, first sign-in, recent failures for this user. */
  assess: (userId: string, ip: string | undefined) => Promise<{ knownNetwork: boolean, firstSignin: boolean, recentFailures: boolean }>
  recordSuccess: (userId: string, ip: string | undefined) => Promise<void>
  recordFailure: (userId: string) => Promise<void>
  forget: (userId: string) => Promise<void>
}

/** Why a user's 2FA is reset (the contract's `user.reset` reasons). */
export type ResetReason = PayloadOf<typeof userReset>['reason']

/**
 * Resets a user's 2FA everywhere: moves the user's "tokens valid after" to now (revocation.ts),
 * drops what the gateway owns (remembered devices, risk signals), then publishes `user.reset` with
 * that `validAfter`, on which every factor service deletes its own data. `validAfter` is the cutoff
 * now in force (ms).
 */
export type UserReset = (userId: string, reason: ResetReason) => Promise<{ eventId: string, validAfter: number }>

/**
 * Per-user revocation of the gateway's tokens (src/revocation.ts): a "tokens valid after" instant.
 * Durable; fails closed.
 */
export interface Revocation {
  /** The user's cutoff (ms since the epoch), or undefined when nothing was ever revoked. */
  validAfter: (userId: string) => Promise<number | undefined>
  /** Moves the cutoff forward to `at` (never back); the cutoff now in force. */
  revokeIssuedUpTo: (userId: string, at: Date) => Promise<number>
}

/**
 * Users whose second factor is locked because they said "Not you?" (issue 14): no second factor
 * is accepted for them until an admin resets their 2FA. Durable (Redis with persistence, like
 * the attempt counters); fails closed.
 */
export interface UserLocks {
  lock: (userId: string, reason: { reportedEventId: string, at: string }) => Promise<void>
  /** When and why the user was locked, or undefined. */
  lockedBy: (userId: string) => Promise<{ reportedEventId: string, at: string } | undefined>
  unlock: (userId: string) => Promise<void>
}
