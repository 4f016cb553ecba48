// Self time per function from a V8 .cpuprofile (what --cpu-prof writes): each sample is charged
// to the node on top of the stack; nodes of one function (name, file, line) are summed. Shares
// are of the busy time (idle samples left out). `window` ({ fromUs, toUs }, on the monotonic clock
// of process.hrtime, which V8's profile timestamps share) keeps only the samples taken in it:
// --cpu-prof profiles a process from start to exit, the harness wants its measured run only.
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { root } from './paths.mjs'

export function topSelfTime (file, n = 15, window = undefined) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map()
  const deltas = profile.timeDeltas ?? []
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    at += deltas[i] ?? 0
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0))
  }
  const byFunction = new Map()
  let total = 0
  let idle = 0
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id)
    const where = f.url === '' ? '' : `${relative(root, f.url.replace(/^file:\/\//, '')).replace(/^.*node_modules\/\.pnpm\/([^/]+)\/node_modules\//, '$1 › ')}:${f.lineNumber + 1}`
    // Idle is the event loop waiting: not a cost, so not in the shares.
    if (f.functionName === '(idle)') { idle += us; continue }
    const key = `${f.functionName || '(anonymous)'}\u0000${where}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + us)
    total += us
  }
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    top: [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key, us]) => {
      const [fn, where] = key.split('\u0000')
      return { fn, where, selfMs: us / 1000, percent: (100 * us) / total }
    }),
  }
}
