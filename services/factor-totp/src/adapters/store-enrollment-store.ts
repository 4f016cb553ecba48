import { storeCalls } from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { ActiveFactor, EnrollmentStore, PendingEnrollment } from '../ports.js'

/** What the `factor_totp` bucket holds: two keys per user, so a re-enrollment never disturbs the active factor. */
export type TotpRecord =
  | ({ v: 1, kind: 'active' } & ActiveFactor)
  | ({ v: 1, kind: 'pending' } & PendingEnrollment)

export const TOTP_BUCKET = 'factor_totp'

const activeKey = (userId: string) => [userId, 'active'] as const
const pendingKey = (userId: string) => [userId, 'pending'] as const

const { available, compareAndSet } = storeCalls('the enrollment store')

function toActive (r: TotpRecord): ActiveFactor {
  if (r.kind !== 'active') throw new Error('factor_totp: an active key holds another record kind')
  return { factorId: r.factorId, sealedSecret: r.sealedSecret, createdAt: r.createdAt }
}

function toPending (r: TotpRecord): PendingEnrollment {
  if (r.kind !== 'pending') throw new Error('factor_totp: a pending key holds another record kind')
  return { enrollmentId: r.enrollmentId, sealedSecret: r.sealedSecret, createdAt: r.createdAt, expiresAt: r.expiresAt }
}

/** The enrollment store on the store port (JetStream KV by default, or MongoDB). Store faults fail closed. */
export function createStoreEnrollmentStore (store: Store<TotpRecord>): EnrollmentStore {
  return {
    async getActive (userId) {
      const e = await available(() => store.get(activeKey(userId)))
      return e === undefined ? undefined : toActive(e.value)
    },
    async putActive (userId, f) {
      await available(() => store.put(activeKey(userId), { v: 1, kind: 'active', ...f }))
    },
    async getPending (userId) {
      const e = await available(() => store.get(pendingKey(userId)))
      return e === undefined ? undefined : { value: toPending(e.value), revision: e.revision }
    },
    async putPending (userId, p) {
      await available(() => store.put(pendingKey(userId), { v: 1, kind: 'pending', ...p }))
    },
    async takePending (userId, revision) {
      return compareAndSet(() => store.delete(pendingKey(userId), revision))
    },
    async removeAll (userId) {
      const [active, pending] = await Promise.all([
        available(() => store.get(activeKey(userId))),
        available(() => store.get(pendingKey(userId))),
      ])
      await Promise.all([
        active === undefined ? undefined : available(() => store.delete(activeKey(userId))),
        pending === undefined ? undefined : available(() => store.delete(pendingKey(userId))),
      ])
      return { active: active === undefined ? undefined : toActive(active.value), pending: pending !== undefined }
    },
  }
}
