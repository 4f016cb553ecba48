/**
 * The store port: durable enrollment data, one bucket (KV) or collection (MongoDB) per owning
 * service. Keys are lists of segments, so `list(['phones', userId])` finds everything a user has
 * without scanning the bucket. Values are JSON.
 */
export type StoreKey = readonly string[]

export interface StoreEntry<T> {
  readonly key: StoreKey
  readonly value: T
  /** Opaque to callers: only compare it, and pass it back to update/delete. */
  readonly revision: number
}

export interface Store<T> {
  get: (key: StoreKey) => Promise<StoreEntry<T> | undefined>
  /** Writes unconditionally; returns the new revision. */
  put: (key: StoreKey, value: T) => Promise<number>
  /** Writes only if the key does not exist; otherwise throws StoreConflictError. */
  create: (key: StoreKey, value: T) => Promise<number>
  /** Writes only if the key is at `revision` (compare-and-set); otherwise throws StoreConflictError. */
  update: (key: StoreKey, value: T, revision: number) => Promise<number>
  /**
   * Removes the key and its history. With `revision`, only if the key is still at it (else
   * StoreConflictError). Removing a missing key without a revision is not an error.
   */
  delete: (key: StoreKey, revision?: number) => Promise<void>
  /** Every entry whose key starts with the whole segments of `prefix` (and is longer than it). */
  list: (prefix: StoreKey) => Promise<Array<StoreEntry<T>>>
}

export interface StoreFactory {
  /** Opens (creating if needed) the bucket of one owner, e.g. `factor_totp`. */
  open: <T>(bucket: string) => Promise<Store<T>>
  close: () => Promise<void>
}

const kConflict = Symbol.for('warden.store.StoreConflictError')

/** A compare-and-set lost: somebody else wrote first. Callers reload and decide again. */
export class StoreConflictError extends Error {
  readonly code = 'STORE_CONFLICT'
  constructor (message = 'the entry changed since it was read', opts: { cause?: unknown } = {}) {
    super(message, opts)
    this.name = 'StoreConflictError'
  }

  get [kConflict] (): true { return true }
  static is (err: unknown): err is StoreConflictError {
    return typeof err === 'object' && err !== null && (err as { [kConflict]?: unknown })[kConflict] === true
  }
}

const BUCKET = /^[a-z][a-z0-9_]{0,62}$/

export function assertBucketName (bucket: string): void {
  if (!BUCKET.test(bucket)) throw new Error(`bucket name ${JSON.stringify(bucket)} must match ${String(BUCKET)}`)
}

export function assertKey (key: StoreKey, allowEmpty = false): void {
  if (!allowEmpty && key.length === 0) throw new Error('a store key needs at least one segment')
  for (const s of key) if (typeof s !== 'string' || s.length === 0) throw new Error('store key segments must be non-empty strings')
}
