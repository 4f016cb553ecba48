// `npm run bench [-- options]`: runs the benchmark suite (bench/harness/) against the stack as
// `npm start` runs it, and rewrites BENCHMARKS.md. Run after a build (npm run build or npm test).
//   --only=P1,P4    a subset (P1 P2 P3 P4 P5 P6 SCALE F-PUSH F-SMS F-WEBAUTHN, any case); does not
//                   write BENCHMARKS.md unless --write
//   --quick         short runs, for developing the harness (the file says so)
//   --soak-min=N    P6's length in minutes (default 10; 0.5 with --quick)
//   --profile       CPU profiles (node --cpu-prof) of the gateway and factor-totp under P2 load, top 15 in the file
//   --write         write BENCHMARKS.md after a subset run too
//   --render        no run: BENCHMARKS.md rendered again from bench/last-run.json (the raw figures
//                   saved whenever BENCHMARKS.md is written), e.g. after editing bench/ANALYSIS.md or bench/FIXES.md
import { readFileSync, writeFileSync } from 'node:fs'
import { renderReport } from './harness/report.mjs'
import { fromRoot } from './harness/paths.mjs'
import { runSuite, SCENARIOS } from './harness/suite.mjs'

const args = process.argv.slice(2)
const flag = (name) => args.includes(`--${name}`)
const value = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
const unknown = args.filter((a) => !/^--(only|soak-min)=|^--(quick|profile|write|render)$/.test(a))
if (unknown.length > 0) { console.error(`unknown option(s): ${unknown.join(' ')}\nsee the top of bench/run.mjs`); process.exit(2) }
const only = value('only')?.split(',').map((x) => x.trim().toUpperCase()) ?? SCENARIOS
const bad = only.filter((x) => !SCENARIOS.includes(x))
if (bad.length > 0) { console.error(`unknown scenario(s): ${bad.join(', ')}; known: ${SCENARIOS.join(', ')}`); process.exit(2) }
const soak = value('soak-min')
const soakMin = soak === undefined ? undefined : Number(soak)
if (soakMin !== undefined && !(soakMin > 0)) { console.error('--soak-min takes a positive number of minutes'); process.exit(2) }

const started = Date.now()
const lastRun = fromRoot('bench/last-run.json')
if (flag('render')) {
  const { result, command } = JSON.parse(readFileSync(lastRun, 'utf8'))
  writeFileSync(fromRoot('BENCHMARKS.md'), renderReport(result, { command }))
  console.log(`bench: BENCHMARKS.md rendered again from ${lastRun} (${command}, ${result.machine.date})`)
  process.exit(0)
}
const command = ['npm run bench', ...(args.length > 0 ? ['--', ...args] : [])].join(' ')
const result = await runSuite({ mode: flag('quick') ? 'quick' : 'full', only, soakMin, profile: flag('profile') })
const report = renderReport(result, { command })
const subset = only.length !== SCENARIOS.length
if (!subset || flag('write')) {
  writeFileSync(fromRoot('BENCHMARKS.md'), report)
  // The raw figures beside it: the report can be rendered again without running (--render).
  writeFileSync(lastRun, JSON.stringify({ command, result }, null, 1) + '\n')
  console.log('bench: BENCHMARKS.md (and bench/last-run.json) rewritten')
} else {
  console.log(report)
  console.log('bench: subset run: BENCHMARKS.md left as it is (add --write to rewrite it)')
}
console.log(`bench: done in ${((Date.now() - started) / 60_000).toFixed(1)} min`)
