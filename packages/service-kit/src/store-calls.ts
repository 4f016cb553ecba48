import { BusError } from '@warden/contracts'
import { StoreConflictError } from '@warden/store'

export interface StoreCalls {
  /**
   * Runs a store call that an answer depends on. A fault becomes BusError UNAVAILABLE (503 with
   * Retry-After: fail closed, SECURITY.md §1.4); a lost compare-and-set passes through as
   * StoreConflictError for the caller to decide on, and BusErrors stay as they are.
   */
  available: <T>(op: () => Promise<T>) => Promise<T>
  /** Runs a compare-and-set write (create, update or delete at a revision): false when somebody else wrote first. */
  compareAndSet: (op: () => Promise<unknown>) => Promise<boolean>
}

/** The store-port calls of one adapter; `what` names the store in the UNAVAILABLE message ("the phone store"). */
export function storeCalls (what: string): StoreCalls {
  async function available<T> (op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (cause) {
      if (BusError.is(cause) || StoreConflictError.is(cause)) throw cause
      throw new BusError('UNAVAILABLE', `${what} is unavailable`, { cause, retryAfterSec: 5 })
    }
  }
  async function compareAndSet (op: () => Promise<unknown>): Promise<boolean> {
    try {
      await available(op)
      return true
    } catch (err) {
      if (StoreConflictError.is(err)) return false
      throw err
    }
  }
  return { available, compareAndSet }
}
