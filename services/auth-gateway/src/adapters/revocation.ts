import { failClosed } from '@warden/service-kit'
import { StoreConflictError, type Store } from '@warden/store'
import type { Revocation } from '../ports.js'

/**
 * The "tokens valid after" cutoffs (src/revocation.ts) in a store-port bucket: durable, no expiry
 * (losing one would bring revoked tokens back). Fails closed: a cutoff that cannot be read or
 * written in time is 503, never a pass. Compare-and-set on the revision, so parallel bumps keep
 * the latest.
 */

export const REVOCATION_BUCKET = 'gateway_revocations'

export interface StoredCutoff { validAfter: number }

const key = (userId: string) => ['user', userId] as const

function cutoffOf (value: unknown): number {
  const v = (value as Partial<StoredCutoff> | null)?.validAfter
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error('stored revocation cutoff has an unknown shape')
  return v
}

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
