// Preloaded into a service (NODE_OPTIONS=--import=…) when the harness profiles it. `--cpu-prof`
// itself is refused in NODE_OPTIONS and testkit's startServiceProcess takes no node flags, so
// this drives the same V8 sampling profiler through node:inspector, and only while the harness
// asks: the first SIGUSR2 starts it, the second writes the .cpuprofile to BENCH_CPU_PROFILE.
// Startup and warm-up stay out of the profile.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

const out = process.env.BENCH_CPU_PROFILE
if (out !== undefined && out !== '') {
  const session = new Session()
  session.connect()
  let running = false
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true
      session.post('Profiler.enable', () => session.post('Profiler.start'))
      return
    }
    running = false
    session.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(out, JSON.stringify(result.profile))
      else console.error('cpu profile failed:', err.message)
    })
  })
}
