import { failClosed } from '@warden/service-kit'
import { StoreConflictError, type Store } from '@warden/store'

/**
 * Per-user revocation of the gateway's tokens: a "tokens valid after" instant (ms). Every MFA,
 * enrollment and remember-device token of the user issued at or before it is refused, here and by
 * resource servers that ask (`warden.gateway.v1.introspect`, or the `validAfter` of `user.reset`).
 *
 * It moves forward, never back, when:
 * - the user's first factor is confirmed (factor-changes.ts): enrollment tokens handed out while
 *   the user had no factor die, so whoever knew only the password cannot bind a factor of their own
 *   once the user has one;
 * - 2FA is reset (admin, or a permanent-loss recovery) or disabled (reset.ts).
 *
 * Precision: `iat` has whole seconds, so the gateway's tokens also carry `iat_ms`, and the cutoff is
 * compared in milliseconds; a token issued in the very millisecond of the cutoff is revoked (ties
 * revoke). A token without `iat_ms` counts from the start of its `iat` second.
 *
 * Durable (the store port: the gateway's KV bucket, no expiry): losing it would bring revoked
 * tokens back. If it cannot be read or written in time, the answer is 503, never a pass.
 */
export interface Revocation {
  /** The user's cutoff (ms since the epoch), or undefined when nothing was ever revoked. */
  validAfter: (userId: string) => Promise<number | undefined>
  /** Moves the cutoff forward to `at` (never back); the cutoff now in force. */
  revokeIssuedUpTo: (userId: string, at: Date) => Promise<number>
}

export const REVOCATION_BUCKET = 'gateway_revocations'

export interface StoredCutoff { validAfter: number }

/** When a gateway token was issued, in ms: its `iat_ms` when it agrees with `iat`, else the start of the `iat` second (the earliest it can have been). */
export function issuedAtMs (iat: number, iatMs: unknown): number {
  return typeof iatMs === 'number' && Number.isInteger(iatMs) && Math.floor(iatMs / 1000) === iat ? iatMs : iat * 1000
}

/** True when something issued at `issuedAt` (ms) is still good: strictly after the cutoff. Pure. */
export function isCurrent (issuedAt: number, validAfter: number | undefined): boolean {
  return validAfter === undefined || issuedAt > validAfter
}

const key = (userId: string) => ['user', userId] as const

function cutoffOf (value: unknown): number {
  const v = (value as Partial<StoredCutoff> | null)?.validAfter
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error('stored revocation cutoff has an unknown shape')
  return v
}

/** The revocation cutoffs in a store-port bucket (compare-and-set on the revision, so parallel bumps keep the latest). */
export function createStoreRevocation (store: Store<StoredCutoff>): Revocation {
  return {
    validAfter: (userId) => failClosed('the token revocation store', async () => {
      const entry = await store.get(key(userId))
      return entry === undefined ? undefined : cutoffOf(entry.value)
    }),

    revokeIssuedUpTo: (userId, at) => failClosed('the token revocation store', async () => {
      const next = at.getTime()
      // Each lost compare-and-set means another bump got in: the loop ends once the stored cutoff
      // is at least ours, so only as many rounds as there are parallel bumps of one user.
      for (let i = 0; i < 16; i++) {
        const entry = await store.get(key(userId))
        const current = entry === undefined ? undefined : cutoffOf(entry.value)
        if (current !== undefined && current >= next) return current
        try {
          if (entry === undefined) await store.create(key(userId), { validAfter: next })
          else await store.update(key(userId), { validAfter: next }, entry.revision)
          return next
        } catch (err) {
          // Another replica moved it in between: read again and keep the later one.
          if (!StoreConflictError.is(err)) throw err
        }
      }
      throw new Error('the revocation cutoff kept changing')
    }),
  }
}
