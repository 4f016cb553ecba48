// The harness's smoke test (the only part of bench/ that npm test runs): the whole stack, a few
// users, every scenario for about a second with tiny counts. It checks that nothing erred and that
// the report renders, and never writes BENCHMARKS.md. Figures are not checked: this is not a benchmark.
// Not type-checked (bench/ is no workspace package); tap transpiles it.
import t from 'tap'
import { runSuite, SCENARIOS } from '../suite.mjs'
import { renderReport } from '../report.mjs'

// The whole file, not only the test: .taprc's 120 s is too short for seven processes, ten
// scenarios and their users on a busy two-core machine.
t.setTimeout(300_000)

t.test('every scenario runs end to end without errors, and the report renders', async (t) => {
  // Starting seven processes dominates; on a busy two-core machine that alone can take a minute.
  t.setTimeout(300_000)
  const result = await runSuite({ mode: 'smoke', log: (line: string) => { t.comment(line) } })
  const r = result.results
  for (const id of SCENARIOS) {
    t.ok(r[id], `${id} ran`)
    t.equal(r[id].failure, undefined, `${id} did not fail`)
  }
  t.equal(r.warmup.errorCount, 0, 'warm-up without errors')
  t.equal(r.P1.bus.errorCount, 0, 'P1 over the bus without errors')
  t.equal(r.P1.inProcess.errorCount, 0, 'P1 in one process without errors')
  t.ok(r.P1.ratio > 0, 'P1 has a ratio')
  t.equal(r.P2.errorCount, 0, 'P2 without errors')
  t.ok(r.P2.verifiesPerSec.median > 0, 'P2 measured verifies')
  for (const level of r.P3.levels) t.equal(level.errorCount, 0, `P3 at ${level.pct}% without errors`)
  t.equal(r.P4.errorCount, 0, 'P4 without errors')
  t.equal(r.P5.transactions.errorCount, 0, 'P5 started its transactions')
  t.ok(r.P5.transactions.avgBytes > 0, 'P5 measured the transactions in Redis')
  for (const factor of ['sms', 'push', 'webauthn']) {
    t.equal(r.P5.pending[factor].errorCount, 0, `P5 left ${factor} challenges pending`)
    t.equal(r.P5.pending[factor].count, result.settings.pendingCount, `P5 counted every pending ${factor} challenge`)
    t.ok(r.P5.pending[factor].avgBytes > 0, `P5 measured pending ${factor} challenges in Redis`)
  }
  for (const id of ['F-PUSH', 'F-SMS', 'F-WEBAUTHN']) {
    t.equal(r[id].errorCount, 0, `${id} without errors`)
    t.equal(r[id].warmup.errorCount, 0, `${id} warm-up without errors`)
    t.ok(r[id].steps.length >= 3 && r[id].steps.every((x: { perSec: { median: number } }) => x.perSec.median > 0), `${id} timed every step`)
  }
  t.equal(r.SCALE.errorCount, 0, 'two replicas without errors')
  t.equal(r.P6.errorCount, 0, 'soak without errors')
  const md: string = renderReport(result)
  t.match(md, /^# Benchmarks/)
  t.match(md, /SMOKE RUN/)
  for (const heading of ['Goals', 'P1', 'P2', 'P3', 'P4', 'P5', 'Scaling', 'P6', 'Every factor', 'F-PUSH', 'F-SMS', 'F-WEBAUTHN']) t.match(md, new RegExp(`## ${heading}`))
  t.notMatch(md, /NaN|undefined/, 'no missing figure in the report')
})
