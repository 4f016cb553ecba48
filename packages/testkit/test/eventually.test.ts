import t from 'tap'
import { eventually } from '../src/index.js'

t.test('eventually: resolves once the check holds; a throw counts as "not yet"', async (t) => {
  let calls = 0
  await eventually(() => {
    calls++
    if (calls === 1) throw new Error('not there yet')
    return calls >= 3
  }, { intervalMs: 1 })
  t.equal(calls, 3, 'checked until it held, and no further')
})

t.test('eventually: fails after timeoutMs, naming what it waited for, with the last error as its cause', async (t) => {
  const cause = new Error('still enrolled')
  const err = await eventually(() => { throw cause }, { timeoutMs: 50, intervalMs: 5, what: 'the reset' }).catch((e: unknown) => e as Error)
  t.match(err, { message: 'the reset did not hold within 50 ms' })
  t.equal(err?.cause, cause)
  await t.rejects(eventually(() => false, { timeoutMs: 20 }), { message: /the condition did not hold within 20 ms/ })
})
