import { BusError } from '@warden/contracts'
import { StoreConflictError, type Store } from '@warden/store'
import type { RecoveryRecord, RecoveryStore } from '../ports.js'

/** The `recovery` bucket: one entry per user, so every change is one compare-and-set. */
export const RECOVERY_BUCKET = 'recovery'

const key = (userId: string) => [userId] as const

async function available<T> (op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (cause) {
    if (BusError.is(cause) || StoreConflictError.is(cause)) throw cause
    throw new BusError('UNAVAILABLE', 'the emergency-code store is unavailable', { cause, retryAfterSec: 5 })
  }
}

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
      try {
        await available(() => revision === undefined ? store.create(key(userId), record) : store.update(key(userId), record, revision))
        return true
      } catch (err) {
        if (StoreConflictError.is(err)) return false
        throw err
      }
    },
    async removeAll (userId) {
      const existed = await available(() => store.get(key(userId)))
      // Unconditional and idempotent; the KV adapter purges, so no old hash lingers in history.
      await available(() => store.delete(key(userId)))
      return existed !== undefined
    },
  }
}
