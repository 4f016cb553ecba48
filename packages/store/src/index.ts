export * from './port.js'
export { createKvStoreFactory, encodeSegment, decodeSegment } from './kv-store.js'
export { createMongoStoreFactory } from './mongo-store.js'
