export * from './port.js'
export { createKvStoreFactory, encodeSegment, decodeSegment } from './kv-store.js'
export { createMongoStoreFactory, connectMongoStoreFactory } from './mongo-store.js'
export { mirrorKvBucket, type KvMirror } from './kv-mirror.js'
