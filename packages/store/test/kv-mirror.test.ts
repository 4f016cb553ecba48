import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { eventually, startNats } from '@warden/testkit'
import { createKvStoreFactory, mirrorKvBucket } from '../src/index.js'

t.test('mirrorKvBucket: caught up at start, follows other writers, removals, own writes, stop', async (t) => {
  const nats = await startNats()
  const writer = await connect({ servers: nats.url })
  const reader = await connect({ servers: nats.url })
  t.teardown(async () => { await reader.close(); await writer.close(); await nats.stop() })
  const store = await createKvStoreFactory(writer).open<{ n: number }>('mirror_test')

  const empty = await mirrorKvBucket<{ n: number }>(reader, 'mirror_empty')
  t.equal(empty.ready, true, 'an empty bucket is caught up at once')
  t.equal(empty.get(['a']), undefined)
  await empty.stop()
  t.equal(empty.ready, false, 'a stopped copy is never read')

  await store.put(['app', 'a.b'], { n: 1 })
  await store.put(['app', 'gone'], { n: 1 })
  await store.delete(['app', 'gone'])
  const m = await mirrorKvBucket<{ n: number }>(reader, 'mirror_test')
  t.teardown(() => m.stop())
  await eventually(() => m.ready, { what: 'the copy catches up' })
  t.match(m.get(['app', 'a.b']), { key: ['app', 'a.b'], value: { n: 1 } }, 'what the bucket held, segments encoded like the store')
  t.equal(m.get(['app', 'gone']), undefined, 'a purged key is absent')

  const rev = await store.put(['app', 'a.b'], { n: 2 })
  await eventually(() => m.get(['app', 'a.b'])?.value.n === 2, { what: 'a write elsewhere arrives' })
  t.equal(m.get(['app', 'a.b'])?.revision, rev)

  m.note(['app', 'a.b'], { n: 0 }, rev - 1)
  t.equal(m.get(['app', 'a.b'])?.value.n, 2, 'an older revision never replaces a newer one')
  m.note(['app', 'own'], { n: 7 }, rev + 1000)
  t.equal(m.get(['app', 'own'])?.value.n, 7, 'an own write is seen at once')

  await store.delete(['app', 'a.b'])
  await eventually(() => m.get(['app', 'a.b']) === undefined, { what: 'a removal elsewhere arrives' })
})
