import type { NatsConnection } from '@nats-io/transport-node'
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv'
import { assertBucketName, assertKey, type StoreEntry, type StoreKey } from './port.js'
import { encodeSegment } from './kv-store.js'

/**
 * An in-memory copy of a whole KV bucket, kept current by a KV watch: for small buckets read on
 * every request (policies), so a read is a map lookup instead of a round trip to JetStream.
 *
 * `ready` is false until the watch has delivered every value the bucket held when it started,
 * and again from a disconnect until a fresh watch (started on reconnect) has caught up: callers
 * read the bucket itself while it is false, so the copy never answers with a state it has not
 * seen. A change made elsewhere reaches the copy with the watch's delay (one JetStream delivery,
 * a few ms on one NATS server); `note` applies the caller's own writes at once.
 */
export interface KvMirror<T> {
  readonly ready: boolean
  /** The current entry; only meaningful while `ready`. */
  get: (key: StoreKey) => StoreEntry<T> | undefined
  /**
   * A write this process made, at its new revision, or a removal (`value` undefined; its revision
   * is at least the removed one's + 1): applied unless the copy already has a newer one.
   */
  note: (key: StoreKey, value: T | undefined, revision: number) => void
  stop: () => Promise<void>
}

const encodeKey = (key: StoreKey): string => key.map(encodeSegment).join('.')

export async function mirrorKvBucket<T> (nc: NatsConnection, bucket: string, opts: { replicas?: number, onError?: (err: unknown) => void } = {}): Promise<KvMirror<T>> {
  assertBucketName(bucket)
  const kv: KV = await new Kvm(nc).create(bucket, { history: 1, replicas: opts.replicas ?? 1 })
  const entries = new Map<string, { value: T | undefined, revision: number }>()
  let ready = false
  let stopped = false
  let generation = 0
  let current: { stop: () => void } | undefined

  const apply = (subject: string, value: T | undefined, revision: number): void => {
    const had = entries.get(subject)
    if (had !== undefined && had.revision >= revision) return
    entries.set(subject, { value, revision })
  }

  const onEntry = (e: KvWatchEntry, mine: number): void => {
    if (mine !== generation) return
    let value: T | undefined
    if (e.operation === 'PUT') {
      try { value = e.json<T>() } catch (err) { opts.onError?.(err); value = undefined }
    }
    apply(e.key, value, e.revision)
  }

  async function start (): Promise<void> {
    const mine = ++generation
    ready = false
    current?.stop()
    // Rebuilt from the watch: a key removed while disconnected must not linger.
    entries.clear()
    const iter = await kv.watch()
    if (stopped || mine !== generation) { iter.stop(); return }
    current = iter
    // The watch marks the entry that completes the bucket's initial contents (and every later one)
    // `isUpdate`; an empty bucket sends none, so its emptiness is checked once the watch exists.
    if ((await kv.status()).values === 0 && mine === generation) ready = true
    void (async () => {
      try {
        for await (const e of iter) {
          onEntry(e, mine)
          if (e.isUpdate && mine === generation) ready = true
        }
      } catch (err) {
        opts.onError?.(err)
      } finally {
        if (mine === generation) ready = false
      }
    })()
  }

  // A disconnect may hide changes: stop answering from the copy until a new watch has caught up.
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) return
      if (s.type === 'disconnect') { generation++; ready = false }
      if (s.type === 'reconnect') start().catch((err: unknown) => { opts.onError?.(err) })
    }
  })()
  await start()

  return {
    get ready () { return ready && !stopped },
    get: (key) => {
      assertKey(key)
      const e = entries.get(encodeKey(key))
      return e?.value === undefined ? undefined : { key: [...key], value: e.value, revision: e.revision }
    },
    note: (key, value, revision) => { assertKey(key); apply(encodeKey(key), value, revision) },
    stop: async () => { stopped = true; ready = false; generation++; current?.stop() },
  }
}


