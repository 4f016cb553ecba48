// Scratch (perf helper): self time per function of a .cpuprofile (nodes[].callFrame, samples and
// timeDeltas), the top N, as a markdown table, skipping the first SKIP seconds (start-up).
//   node bench/scratch/top.mjs FILE [N=25] [SKIP=0]
import { readFileSync } from 'node:fs'

const [file, nArg, skipArg] = process.argv.slice(2)
const prof = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const self = new Map()
let total = 0; let t = 0
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0; t += dt
  if (t < Number(skipArg ?? 0) * 1e6) continue
  const { callFrame: f } = byId.get(prof.samples[i])
  const short = f.url.replace(/^.*node_modules\/\.pnpm\/([^/]+)\/node_modules\//, '$1 ').replace(/^file:\/\/\/work\/[^/]+\//, '')
  const key = `${f.functionName || '(anonymous)'} ${short}:${f.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + dt)
  total += dt
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0)
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(100 * idle / total).toFixed(1)}% idle`)
console.log('| self % of busy | function |\n|---|---|')
for (const [k, v] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 25))) {
  console.log(`| ${(100 * v / (total - idle)).toFixed(1)} | ${k} |`)
}
