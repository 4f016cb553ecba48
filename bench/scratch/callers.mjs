// Scratch (perf helper): who calls FUNCTION, by self time of FUNCTION, as stacks DEPTH frames deep.
//   node bench/scratch/callers.mjs FILE FUNCTION [DEPTH=6]
import { readFileSync } from 'node:fs'
const [file, fn, depthArg] = process.argv.slice(2)
const prof = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const stacks = new Map()
let total = 0
for (let i = 0; i < prof.samples.length; i++) {
  let id = prof.samples[i]
  if (byId.get(id).callFrame.functionName !== fn) continue
  const dt = prof.timeDeltas[i] ?? 0; total += dt
  const frames = []
  for (let d = 0; d < Number(depthArg ?? 6) && (id = parent.get(id)) !== undefined; d++) {
    const f = byId.get(id).callFrame
    frames.push(`${f.functionName || '(anon)'}@${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`)
  }
  const k = frames.join(' < ')
  stacks.set(k, (stacks.get(k) ?? 0) + dt)
}
for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`${(100 * v / total).toFixed(0)}%  ${k}`)
