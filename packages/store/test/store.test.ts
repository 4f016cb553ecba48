import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
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

t.test('JetStream KV: list() walks the bucket without creating a consumer', async (t) => {
  const nats = await startNats()
  const nc = await connect({ servers: nats.url })
  t.teardown(async () => { await nc.close(); await nats.stop() })
  const store = await createKvStoreFactory(nc).open<{ n: number }>('list_no_consumer')
  for (let i = 0; i < 5; i++) await store.put(['user', 'u1', `d${i}`], { n: i })
  await store.put(['user', 'u10', 'd0'], { n: 10 })
  await store.put(['user', 'u1', 'd2'], { n: 22 })
  await store.delete(['user', 'u1', 'd3'])
  const listed = await store.list(['user', 'u1'])
  t.same(listed.map((e) => [e.key.join('/'), e.value.n]).sort(), [['user/u1/d0', 0], ['user/u1/d1', 1], ['user/u1/d2', 22], ['user/u1/d4', 4]],
    'live entries of the prefix only: the update once, the deleted entry not, the neighbouring user u10 not')
  for (const e of listed) t.same(await store.get(e.key), e, 'each listed revision is the entry\'s current one')
  t.same(await store.list(['user', 'nobody']), [])
  const jsm = await jetstreamManager(nc)
  // A consumer is what nats-server 2.9 persists and keeps until it times out: listing must make none.
  t.equal((await jsm.streams.info('KV_list_no_consumer')).state.consumer_count, 0, 'no consumer was created')
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
