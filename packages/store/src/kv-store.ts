import type { NatsConnection } from '@nats-io/transport-node'
import { Kvm, type KV } from '@nats-io/kv'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
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

/** What KV writes into a message's headers when an entry is deleted or purged (its marker). */
const KV_OPERATION = 'KV-Operation'

function kvStore<T> (kv: KV, jsm: JetStreamManager, bucket: string): Store<T> {
  const stream = `KV_${bucket}`
  const subjectPrefix = `$KV.${bucket}.`
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
      // Walked with direct gets ("the next message matching the filter from this sequence on"),
      // not kv.keys(): keys() creates a JetStream consumer per call, and nats-server 2.9 writes
      // each one to disk and keeps it until its inactivity timeout. Listed on every sign-in start
      // (push and WebAuthn describe) and every event (the notifier's webhooks), those consumers
      // piled up by the thousand, grew nats-server to gigabytes and stalled it for hundreds of ms
      // when it swept them (bench/FIXES.md, fix 11). With one message per subject (history 1), each
      // live key is met once; delete and purge markers are skipped. N entries cost N + 1 requests.
      const filter = subjectPrefix + (prefix.length === 0 ? '>' : `${encodeKey(prefix)}.>`)
      const entries: Array<StoreEntry<T>> = []
      for (let seq = 1; ;) {
        const m = await jsm.direct.getMessage(stream, { next_by_subj: filter, seq })
        if (m === null) return entries
        seq = m.seq + 1
        const op = m.header.get(KV_OPERATION)
        if (op === 'DEL' || op === 'PURGE') continue
        entries.push({ key: decodeKey(m.subject.slice(subjectPrefix.length)), value: m.json<T>(), revision: m.seq })
      }
    },
  }
}

/** The default store: one JetStream KV bucket per owner, on the same NATS as the bus. */
export function createKvStoreFactory (nc: NatsConnection, opts: { replicas?: number } = {}): StoreFactory {
  const kvm = new Kvm(nc)
  let manager: Promise<JetStreamManager> | undefined
  return {
    open: async <T>(bucket: string) => {
      assertBucketName(bucket)
      const kv = await kvm.create(bucket, { history: 1, replicas: opts.replicas ?? 1 })
      manager ??= jetstreamManager(nc)
      return kvStore<T>(kv, await manager, bucket)
    },
    // The connection belongs to the caller.
    close: async () => {},
  }
}
