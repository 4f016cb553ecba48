import { storeCalls } from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { PhoneBook, PhoneRecord, PhoneStore } from '../ports.js'

/** What the `factor_sms` bucket holds: one record per user with all their phones. */
export interface SmsRecord { v: 1, phones: PhoneRecord[] }

export const SMS_BUCKET = 'factor_sms'

const bookKey = (userId: string) => [userId, 'phones'] as const

const { available, compareAndSet } = storeCalls('the phone store')

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
      return compareAndSet(() => revision === undefined
        ? store.create(bookKey(userId), record)
        : store.update(bookKey(userId), record, revision))
    },
    async removeAll (userId) {
      await available(() => store.delete(bookKey(userId)))
    },
  }
}
