import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { StoreConflictError, type StoreFactory } from './port.js'

/** A tap test: the suite runs as subtests of it. */
export type ConformanceTest = Test

/**
 * The behaviour every store adapter must have. Each run uses a fresh bucket name, so runs can
 * share a server.
 */
export async function runStoreConformance (t: ConformanceTest, factory: StoreFactory): Promise<void> {
  const bucket = () => `conf_${randomBytes(6).toString('hex')}`
  const isConflict = { name: 'StoreConflictError' }

  await t.test('get of a missing key is undefined', async (t) => {
    const s = await factory.open<{ a: number }>(bucket())
    t.equal(await s.get(['nope']), undefined)
  })

  await t.test('put then get round-trips JSON and returns the revision', async (t) => {
    const s = await factory.open<{ a: number, b: string[] }>(bucket())
    const rev = await s.put(['users', 'u1'], { a: 1, b: ['x'] })
    const e = await s.get(['users', 'u1'])
    t.same(e?.value, { a: 1, b: ['x'] })
    t.equal(e?.revision, rev)
    t.same(e?.key, ['users', 'u1'])
  })

  await t.test('keys with any characters stay distinct', async (t) => {
    const s = await factory.open<string>(bucket())
    const odd = ['a.b', 'a/b', 'a b', 'ä=ö', '*', '>', 'x|y@z', '%2F']
    for (const k of odd) await s.put(['k', k], k)
    for (const k of odd) t.equal((await s.get(['k', k]))?.value, k, `key ${k}`)
    t.equal((await s.list(['k'])).length, odd.length)
  })

  await t.test('create refuses an existing key', async (t) => {
    const s = await factory.open<number>(bucket())
    await s.create(['c'], 1)
    await t.rejects(s.create(['c'], 2), isConflict)
    t.equal((await s.get(['c']))?.value, 1)
  })

  await t.test('update is compare-and-set on the revision', async (t) => {
    const s = await factory.open<number>(bucket())
    const r1 = await s.create(['n'], 1)
    const r2 = await s.update(['n'], 2, r1)
    t.not(r2, r1)
    await t.rejects(s.update(['n'], 3, r1), isConflict, 'stale revision refused')
    t.equal((await s.get(['n']))?.value, 2)
  })

  await t.test('parallel updates from one revision: exactly one wins', async (t) => {
    const s = await factory.open<number>(bucket())
    const r = await s.create(['race'], 0)
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.update(['race'], i + 1, r)))
    t.equal(results.filter((x) => x.status === 'fulfilled').length, 1)
    for (const x of results) if (x.status === 'rejected') t.ok(StoreConflictError.is(x.reason), 'losers get StoreConflictError')
  })

  await t.test('update of a missing key conflicts', async (t) => {
    const s = await factory.open<number>(bucket())
    await t.rejects(s.update(['missing'], 1, 1), isConflict)
  })

  await t.test('delete removes; create works again afterwards', async (t) => {
    const s = await factory.open<number>(bucket())
    await s.put(['d'], 1)
    await s.delete(['d'])
    t.equal(await s.get(['d']), undefined)
    await t.resolves(s.delete(['d']), 'deleting a missing key is not an error')
    await s.create(['d'], 2)
    t.equal((await s.get(['d']))?.value, 2)
  })

  await t.test('delete with a stale revision conflicts and keeps the value', async (t) => {
    const s = await factory.open<number>(bucket())
    const r1 = await s.put(['dd'], 1)
    const r2 = await s.update(['dd'], 2, r1)
    await t.rejects(s.delete(['dd'], r1), isConflict)
    t.equal((await s.get(['dd']))?.value, 2)
    await s.delete(['dd'], r2)
    t.equal(await s.get(['dd']), undefined)
  })

  await t.test('list returns entries under whole-segment prefixes only', async (t) => {
    const s = await factory.open<number>(bucket())
    await s.put(['phones', 'u1', 'p1'], 1)
    await s.put(['phones', 'u1', 'p2'], 2)
    await s.put(['phones', 'u10', 'p3'], 3)
    await s.put(['phones', 'u1'], 9)
    await s.put(['devices', 'u1', 'd1'], 4)
    const u1 = (await s.list(['phones', 'u1'])).map((e) => e.value).sort()
    t.same(u1, [1, 2], 'u10 is not under u1, and the prefix key itself is not listed')
    t.equal((await s.list(['phones'])).length, 4)
    t.equal((await s.list([])).length, 5)
    await s.delete(['phones', 'u1', 'p1'])
    t.same((await s.list(['phones', 'u1'])).map((e) => e.value), [2], 'deleted entries are not listed')
  })

  await t.test('buckets are isolated', async (t) => {
    const a = await factory.open<number>(bucket())
    const b = await factory.open<number>(bucket())
    await a.put(['x'], 1)
    t.equal(await b.get(['x']), undefined)
  })

  await t.test('invalid keys and bucket names are refused', async (t) => {
    await t.rejects(factory.open('Bad Name'), { message: /bucket name/ })
    const s = await factory.open<number>(bucket())
    await t.rejects(s.put([], 1), { message: /segment/ })
    await t.rejects(s.put(['a', ''], 1), { message: /segment/ })
  })
}
