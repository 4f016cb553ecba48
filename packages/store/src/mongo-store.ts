import type { Db, MongoClient } from 'mongodb'
import { assertBucketName, assertKey, StoreConflictError, type Store, type StoreEntry, type StoreFactory, type StoreKey } from './port.js'

interface Doc { _id: string, key: string[], value: unknown, revision: number }

// `_id` is the key's segments, URI-encoded and joined by '/', so a prefix of segments is a
// prefix of `_id` and `list` is an anchored regex served by the _id index.
const idOf = (key: StoreKey): string => key.map(encodeURIComponent).join('/')
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// Only majority-acknowledged, journaled writes survive a failover (SECURITY.md §3).
const WRITE = { writeConcern: { w: 'majority' as const, j: true } }

const isDuplicateKey = (err: unknown): boolean => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000

function mongoStore<T> (db: Db, name: string): Store<T> {
  const col = db.collection<Doc>(name)
  const entry = (d: Doc): StoreEntry<T> => ({ key: d.key, value: d.value as T, revision: d.revision })
  return {
    get: async (key) => {
      assertKey(key)
      const d = await col.findOne({ _id: idOf(key) }, { readConcern: { level: 'majority' } })
      return d === null ? undefined : entry(d)
    },
    put: async (key, value) => {
      assertKey(key)
      const d = await col.findOneAndUpdate(
        { _id: idOf(key) },
        { $set: { key: [...key], value }, $inc: { revision: 1 } },
        { upsert: true, returnDocument: 'after', ...WRITE },
      )
      return (d as Doc).revision
    },
    create: async (key, value) => {
      assertKey(key)
      try {
        await col.insertOne({ _id: idOf(key), key: [...key], value, revision: 1 }, WRITE)
      } catch (err) {
        if (isDuplicateKey(err)) throw new StoreConflictError('the key exists', { cause: err })
        throw err
      }
      return 1
    },
    update: async (key, value, revision) => {
      assertKey(key)
      const d = await col.findOneAndUpdate(
        { _id: idOf(key), revision },
        { $set: { value }, $inc: { revision: 1 } },
        { returnDocument: 'after', ...WRITE },
      )
      if (d === null) throw new StoreConflictError()
      return d.revision
    },
    delete: async (key, revision) => {
      assertKey(key)
      const filter = revision === undefined ? { _id: idOf(key) } : { _id: idOf(key), revision }
      const r = await col.deleteOne(filter, WRITE)
      if (revision !== undefined && r.deletedCount === 0) throw new StoreConflictError()
    },
    list: async (prefix) => {
      assertKey(prefix, true)
      const filter = prefix.length === 0 ? {} : { _id: { $regex: `^${escapeRegex(idOf(prefix))}/` } }
      return (await col.find(filter, { readConcern: { level: 'majority' } }).toArray()).map(entry)
    },
  }
}

/** The production option: one MongoDB collection per owner, majority writes. */
export function createMongoStoreFactory (client: MongoClient, dbName: string): StoreFactory {
  const db = client.db(dbName)
  return {
    open: async <T>(bucket: string) => {
      assertBucketName(bucket)
      return mongoStore<T>(db, bucket)
    },
    close: async () => { await client.close() },
  }
}

/**
 * Connects to MongoDB and opens the store factory on `dbName`; `close()` closes the client. The
 * driver is loaded here only, so services on the KV default never load it. `ping` tells readiness.
 */
export async function connectMongoStoreFactory (uri: string, dbName: string): Promise<StoreFactory & { ping: () => Promise<boolean> }> {
  const { MongoClient } = await import('mongodb')
  const client = await new MongoClient(uri).connect()
  return {
    ...createMongoStoreFactory(client, dbName),
    ping: async () => (await client.db(dbName).command({ ping: 1 })).ok === 1,
  }
}
