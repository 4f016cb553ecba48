import t from 'tap'
import { BusError } from '@warden/contracts'
import { StoreConflictError } from '@warden/store'
import { storeCalls } from '../src/store-calls.js'

const { available, compareAndSet } = storeCalls('the test store')

t.test('available: answers pass through; a store fault fails closed as UNAVAILABLE naming the store', async (t) => {
  t.equal(await available(async () => 42), 42)
  const err = await available(async () => { throw new Error('connection refused 10.0.0.7:4222') }).catch((e: unknown) => e)
  t.ok(BusError.is(err))
  t.match(err, { code: 'UNAVAILABLE', message: 'the test store is unavailable', retryAfterSec: 5 })
  t.notMatch((err as Error).message, /10\.0\.0\.7/, 'the cause stays out of the message')
})

t.test('available: a lost compare-and-set and an already classified BusError pass through unchanged', async (t) => {
  const conflict = new StoreConflictError()
  t.equal(await available(async () => { throw conflict }).catch((e: unknown) => e), conflict)
  const notFound = new BusError('NOT_FOUND', 'no such item')
  t.equal(await available(async () => { throw notFound }).catch((e: unknown) => e), notFound)
})

t.test('compareAndSet: true when written, false when somebody else wrote first, UNAVAILABLE on a fault', async (t) => {
  t.equal(await compareAndSet(async () => 7), true)
  t.equal(await compareAndSet(async () => { throw new StoreConflictError() }), false)
  await t.rejects(compareAndSet(async () => { throw new Error('timeout') }), { code: 'UNAVAILABLE' })
})
