// Scratch (perf helper): inclusive (total) time per function of a .cpuprofile, skipping the first
// SKIP seconds (process start-up), filtered by a substring of the function's location.
//   node bench/scratch/inclusive.mjs FILE [SKIP=0] [FILTER=''] [N=40]
import { readFileSync } from 'node:fs'
const [file, skipArg, filter = '', nArg] = process.argv.slice(2)
const prof = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const name = (f) => `${f.functionName || '(anon)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/[^/]+\//, '')}:${f.lineNumber + 1}`
const incl = new Map(); let busy = 0; let t = 0
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0; t += dt
  if (t < Number(skipArg ?? 0) * 1e6) continue
  let id = prof.samples[i]
  if (byId.get(id).callFrame.functionName === '(idle)') continue
  busy += dt
  const seen = new Set()
  for (; id !== undefined; id = parent.get(id)) {
    const k = name(byId.get(id).callFrame)
    if (seen.has(k)) continue
    seen.add(k); incl.set(k, (incl.get(k) ?? 0) + dt)
  }
}
console.log(`busy ${(busy / 1e6).toFixed(1)} s after ${skipArg ?? 0} s`)
for (const [k, v] of [...incl].filter(([k]) => k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 40))) console.log(`${(100 * v / busy).toFixed(1).padStart(5)}  ${k}`)
