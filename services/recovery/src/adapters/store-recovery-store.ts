import { storeCalls } from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { RecoveryRecord, RecoveryStore } from '../ports.js'

/** The `recovery` bucket: one entry per user, so every change is one compare-and-set. */
export const RECOVERY_BUCKET = 'recovery'

const key = (userId: string) => [userId] as const

const { available, compareAndSet } = storeCalls('the emergency-code store')

function check (value: RecoveryRecord): RecoveryRecord {
  if (value.v !== 1) throw new Error('recovery: an entry has an unknown version')
  return value
}

/** The recovery store on the store port (JetStream KV by default, or MongoDB). Store faults fail closed. */
export function createStoreRecoveryStore (store: Store<RecoveryRecord>): RecoveryStore {
  return {
    async get (userId) {
      const e = await available(() => store.get(key(userId)))
      return e === undefined ? undefined : { value: check(e.value), revision: e.revision }
    },
    async save (userId, record, revision) {
      return compareAndSet(() => revision === undefined ? store.create(key(userId), record) : store.update(key(userId), record, revision))
    },
    async removeAll (userId) {
      const existed = await available(() => store.get(key(userId)))
      // Unconditional and idempotent; the KV adapter purges, so no old hash lingers in history.
      await available(() => store.delete(key(userId)))
      return existed !== undefined
    },
  }
}
