import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { startNats } from '@warden/testkit'
import { createKvStoreFactory, createMongoStoreFactory, decodeSegment, encodeSegment } from '../src/index.js'
import { runStoreConformance } from '../src/conformance.js'

t.test('segment encoding round-trips and yields valid KV tokens', async (t) => {
  for (const s of ['plain', 'a.b', 'x y', 'ü', '=', '*>', 'auth0|123', '😀']) {
    const enc = encodeSegment(s)
    t.match(enc, /^[A-Za-z0-9_=-]+$/)
    t.equal(decodeSegment(enc), s)
  }
})

t.test('JetStream KV adapter passes the store conformance suite', async (t) => {
  const nats = await startNats()
  const nc = await connect({ servers: nats.url })
  t.teardown(async () => { await nc.close(); await nats.stop() })
  await runStoreConformance(t, createKvStoreFactory(nc))
})

// MongoDB cannot run on the CI machine; wherever MONGODB_URI is set the same suite runs against it.
const mongoUri = process.env.MONGODB_URI
t.test('MongoDB adapter passes the store conformance suite', { skip: mongoUri === undefined ? 'MONGODB_URI is not set' : false }, async (t) => {
  const { MongoClient } = await import('mongodb')
  const client = await new MongoClient(mongoUri as string).connect()
  const factory = createMongoStoreFactory(client, `warden_conformance_${process.pid}`)
  t.teardown(async () => { await client.db(`warden_conformance_${process.pid}`).dropDatabase(); await factory.close() })
  await runStoreConformance(t, factory)
})
