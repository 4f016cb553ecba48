import t, { type Test } from 'tap'
import { startRedis, uniqueUserId } from '@warden/testkit'
import { connectRedis, createMemoryOutcomeLedger, createRedisOutcomeLedger, once, type OutcomeLedger } from '../src/index.js'

/** What once() over any ledger must do; run against Redis above and in memory below. */
async function ledgerRules (t: Test, ledger: OutcomeLedger<{ n: number }>): Promise<void> {
  const scope = uniqueUserId()
  let runs = 0
  const attempt = async () => ({ n: ++runs })
  t.same(await once({ ledger, scope, key: undefined, fingerprint: 'fp' }, attempt), { n: 1 }, 'no key: it just runs')
  t.same(await once({ ledger, scope, key: undefined, fingerprint: 'fp' }, attempt), { n: 2 })
  t.same(await once({ ledger, scope, key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-1' }, attempt), { n: 3 })
  t.same(await once({ ledger, scope, key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-1' }, attempt), { n: 3 }, 'a retry gets the recorded outcome')
  t.equal(runs, 3, 'and runs nothing')
  await t.rejects(once({ ledger, scope, key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-2' }, attempt), { code: 'CONFLICT' }, 'a key reused for another request')
  t.same(await once( { ledger, scope: uniqueUserId(), key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-1' }, attempt), { n: 4 }, 'keys are per scope')
  // A fault is not an outcome: nothing is recorded, the retry evaluates again.
  await t.rejects(once({ ledger, scope, key: 'key-bbbbbbbbbbbbbb', fingerprint: 'txn-1' }, async () => { throw new Error('boom') }), /boom/)
  t.same(await once({ ledger, scope, key: 'key-bbbbbbbbbbbbbb', fingerprint: 'txn-1' }, attempt), { n: 5 })
  // While the first attempt runs, a second with the same key is told to retry shortly.
  let release = (): void => {}
  const slow = once({ ledger, scope, key: 'key-cccccccccccccc', fingerprint: 'txn-1' }, async () => { await new Promise<void>((resolve) => { release = resolve }); return { n: 99 } })
  await new Promise((resolve) => setImmediate(resolve))
  await t.rejects(once({ ledger, scope, key: 'key-cccccccccccccc', fingerprint: 'txn-1' }, attempt), { code: 'UNAVAILABLE', retryAfterSec: 1 })
  release()
  t.same(await slow, { n: 99 })
  t.same(await once({ ledger, scope, key: 'key-cccccccccccccc', fingerprint: 'txn-1' }, attempt), { n: 99 })
}

t.test('outcome ledger (memory): the same rules', async (t) => {
  await ledgerRules(t, createMemoryOutcomeLedger<{ n: number }>())
})

t.test('outcome ledger (Redis): the same rules, one runner per key in parallel, fails closed', async (t) => {
  const server = await startRedis()
  const redis = await connectRedis(server.url, 'kit-test')
  t.teardown(async () => { redis.disconnect(); await server.stop() })

  await ledgerRules(t, createRedisOutcomeLedger<{ n: number }>(redis, { prefix: 'test' }))
  const ledger = createRedisOutcomeLedger<{ n: number }>(redis, { prefix: 'test' })
  const scope = uniqueUserId()
  const firsts = await Promise.all(Array.from({ length: 20 }, () => ledger.begin(scope, 'parallel-key-0001', 'fp')))
  t.equal(firsts.filter((e) => e.state === 'new').length, 1, 'exactly one caller runs the attempt')

  const r2 = await connectRedis(server.url, 'kit-test-2')
  const away = createRedisOutcomeLedger(r2, { prefix: 'test' })
  r2.disconnect()
  await t.rejects(once({ ledger: away, scope: uniqueUserId(), key: 'some-key-00000001', fingerprint: 'fp' }, async () => 1), { code: 'UNAVAILABLE' }, 'Redis away: UNAVAILABLE')
})
