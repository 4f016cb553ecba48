import { BusError } from '@warden/contracts'
import { StoreConflictError, type Store } from '@warden/store'
import type { PhoneBook, PhoneRecord, PhoneStore } from '../ports.js'

/** What the `factor_sms` bucket holds: one record per user with all their phones. */
export interface SmsRecord { v: 1, phones: PhoneRecord[] }

export const SMS_BUCKET = 'factor_sms'

const bookKey = (userId: string) => [userId, 'phones'] as const

async function available<T> (op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (cause) {
    if (BusError.is(cause) || StoreConflictError.is(cause)) throw cause
    throw new BusError('UNAVAILABLE', 'the phone store is unavailable', { cause, retryAfterSec: 5 })
  }
}

/** Compare-and-set write: false when somebody else wrote first. */
async function written (op: () => Promise<unknown>): Promise<boolean> {
  try {
    await available(op)
    return true
  } catch (err) {
    if (StoreConflictError.is(err)) return false
    throw err
  }
}

/** The phone store on the store port (JetStream KV by default, or MongoDB). Store faults fail closed. */
export function createStorePhoneStore (store: Store<SmsRecord>): PhoneStore {
  return {
    async get (userId) {
      const e = await available(() => store.get(bookKey(userId)))
      if (e === undefined) return undefined
      const book: PhoneBook = { phones: e.value.phones }
      return { value: book, revision: e.revision }
    },
    async save (userId, book, revision) {
      const record: SmsRecord = { v: 1, phones: [...book.phones] }
      return written(() => revision === undefined
        ? store.create(bookKey(userId), record)
        : store.update(bookKey(userId), record, revision))
    },
    async removeAll (userId) {
      await available(() => store.delete(bookKey(userId)))
    },
  }
}
