import type { NatsConnection } from '@nats-io/transport-node'
import { Kvm, type KV } from '@nats-io/kv'
import { assertBucketName, assertKey, StoreConflictError, type Store, type StoreEntry, type StoreFactory, type StoreKey } from './port.js'

// KV keys are NATS subjects: '.'-separated tokens of [-/_=.a-zA-Z0-9]. Each segment keeps
// [A-Za-z0-9_-] and escapes every other UTF-8 byte as =XX, so any user id is a valid token and
// prefixes of segments stay prefixes of subjects.
const KEEP = /^[A-Za-z0-9_-]$/

export function encodeSegment (segment: string): string {
  let out = ''
  for (const ch of segment) {
    if (KEEP.test(ch)) { out += ch; continue }
    for (const b of Buffer.from(ch, 'utf8')) out += '=' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

export function decodeSegment (token: string): string {
  const bytes: number[] = []
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '=') { bytes.push(parseInt(token.slice(i + 1, i + 3), 16)); i += 2 } else bytes.push(token.charCodeAt(i))
  }
  return Buffer.from(bytes).toString('utf8')
}

const encodeKey = (key: StoreKey): string => key.map(encodeSegment).join('.')
const decodeKey = (subject: string): string[] => subject.split('.').map(decodeSegment)

function isConflict (err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${String((err as { code?: unknown }).code ?? '')}` : ''
  return /wrong last sequence|10071/.test(text)
}

function kvStore<T> (kv: KV): Store<T> {
  const cas = async <R>(op: () => Promise<R>): Promise<R> => {
    try { return await op() } catch (err) {
      if (isConflict(err)) throw new StoreConflictError(undefined, { cause: err })
      throw err
    }
  }
  const read = async (key: StoreKey): Promise<StoreEntry<T> | undefined> => {
    const e = await kv.get(encodeKey(key))
    if (e === null || e.operation !== 'PUT') return undefined
    return { key: [...key], value: e.json<T>(), revision: e.revision }
  }
  return {
    get: async (key) => { assertKey(key); return read(key) },
    put: async (key, value) => { assertKey(key); return kv.put(encodeKey(key), JSON.stringify(value)) },
    create: async (key, value) => { assertKey(key); return cas(() => kv.create(encodeKey(key), JSON.stringify(value))) },
    update: async (key, value, revision) => { assertKey(key); return cas(() => kv.update(encodeKey(key), JSON.stringify(value), revision)) },
    delete: async (key, revision) => {
      assertKey(key)
      // purge, not delete: removed secrets must not linger in the key's history.
      await cas(() => kv.purge(encodeKey(key), revision === undefined ? {} : { previousSeq: revision }))
    },
    list: async (prefix) => {
      assertKey(prefix, true)
      const filter = prefix.length === 0 ? '>' : `${encodeKey(prefix)}.>`
      const keys: string[] = []
      for await (const k of await kv.keys(filter)) keys.push(k)
      const entries = await Promise.all(keys.map((k) => read(decodeKey(k))))
      return entries.filter((e): e is StoreEntry<T> => e !== undefined)
    },
  }
}

/** The default store: one JetStream KV bucket per owner, on the same NATS as the bus. */
export function createKvStoreFactory (nc: NatsConnection, opts: { replicas?: number } = {}): StoreFactory {
  const kvm = new Kvm(nc)
  return {
    open: async <T>(bucket: string) => {
      assertBucketName(bucket)
      const kv = await kvm.create(bucket, { history: 1, replicas: opts.replicas ?? 1 })
      return kvStore<T>(kv)
    },
    // The connection belongs to the caller.
    close: async () => {},
  }
}
