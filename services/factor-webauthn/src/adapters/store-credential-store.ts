import { randomBytes } from 'node:crypto'
import { BusError } from '@warden/contracts'
import { storeCalls } from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { CredentialRecord, CredentialStore } from '../ports.js'

/**
 * What the `factor_webauthn` bucket holds:
 * - `users.<userId>.handle`: the user's WebAuthn user handle;
 * - `users.<userId>.keys.<id>`: one credential;
 * - `index.<id>`: the owner of a credential id, across all users (claimed with create-if-absent).
 * `<id>` is `wak_` + SHA-256 of the raw credential id, so a 1023-byte id still makes a short key.
 */
export type WebauthnRecord =
  | { v: 1, kind: 'handle', userHandle: string }
  | ({ v: 1, kind: 'credential' } & CredentialRecord)
  | { v: 1, kind: 'owner', userId: string }

export const WEBAUTHN_BUCKET = 'factor_webauthn'

const handleKey = (userId: string) => ['users', userId, 'handle'] as const
const keysPrefix = (userId: string) => ['users', userId, 'keys'] as const
const credentialKey = (userId: string, id: string) => ['users', userId, 'keys', id] as const
const indexKey = (id: string) => ['index', id] as const

/** 32 random bytes: the user handle is an opaque id, never the user's name (L3 §14.6.1). */
const USER_HANDLE_BYTES = 32

const { available, compareAndSet } = storeCalls('the credential store')

function toCredential (r: WebauthnRecord): CredentialRecord {
  if (r.kind !== 'credential') throw new Error('factor_webauthn: a credential key holds another record kind')
  const { v: _v, kind: _kind, ...record } = r
  return record
}

/** The credential store on the store port (JetStream KV by default, or MongoDB). Store faults fail closed. */
export function createStoreCredentialStore (store: Store<WebauthnRecord>): CredentialStore {
  async function findUserHandle (userId: string): Promise<string | undefined> {
    const e = await available(() => store.get(handleKey(userId)))
    if (e === undefined) return undefined
    if (e.value.kind !== 'handle') throw new Error('factor_webauthn: a handle key holds another record kind')
    return e.value.userHandle
  }

  async function get (userId: string, id: string) {
    const e = await available(() => store.get(credentialKey(userId, id)))
    return e === undefined ? undefined : { value: toCredential(e.value), revision: e.revision }
  }

  /** Drops the index entry of `id` if it still names `userId`. */
  async function release (userId: string, id: string): Promise<void> {
    const owner = await available(() => store.get(indexKey(id)))
    if (owner === undefined || owner.value.kind !== 'owner' || owner.value.userId !== userId) return
    await compareAndSet(() => store.delete(indexKey(id), owner.revision))
  }

  return {
    findUserHandle,

    async userHandle (userId) {
      const existing = await findUserHandle(userId)
      if (existing !== undefined) return existing
      const made = randomBytes(USER_HANDLE_BYTES).toString('base64url')
      if (await compareAndSet(() => store.create(handleKey(userId), { v: 1, kind: 'handle', userHandle: made }))) return made
      // Another request made it first: theirs is the one.
      const theirs = await findUserHandle(userId)
      if (theirs === undefined) throw new BusError('UNAVAILABLE', 'the credential store is unavailable', { retryAfterSec: 1 })
      return theirs
    },

    async list (userId) {
      const entries = await available(() => store.list(keysPrefix(userId)))
      return entries.map((e) => ({ value: toCredential(e.value), revision: e.revision }))
    },

    get,

    async add (userId, record) {
      if (!await compareAndSet(() => store.create(indexKey(record.id), { v: 1, kind: 'owner', userId }))) {
        // Taken. Only a claim of this same user whose record was never written (a crash between the
        // two writes) is ours to finish; another user's claim is never taken over.
        const owner = await available(() => store.get(indexKey(record.id)))
        if (owner === undefined || owner.value.kind !== 'owner' || owner.value.userId !== userId) return false
        if (await get(userId, record.id) !== undefined) return false
      }
      try {
        return await compareAndSet(() => store.create(credentialKey(userId, record.id), { v: 1, kind: 'credential', ...record }))
      } catch (err) {
        await release(userId, record.id).catch(() => undefined)
        throw err
      }
    },

    async update (userId, record, revision) {
      return compareAndSet(() => store.update(credentialKey(userId, record.id), { v: 1, kind: 'credential', ...record }, revision))
    },

    async remove (userId, id) {
      const e = await get(userId, id)
      if (e === undefined) return undefined
      await available(() => store.delete(credentialKey(userId, id)))
      await release(userId, id)
      return e.value
    },

    async removeAll (userId) {
      const entries = await available(() => store.list(keysPrefix(userId)))
      const ids = entries.map((e) => toCredential(e.value).id)
      for (const id of ids) {
        await available(() => store.delete(credentialKey(userId, id)))
        await release(userId, id)
      }
      await available(() => store.delete(handleKey(userId)))
      return ids
    },
  }
}
