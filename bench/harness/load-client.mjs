// The harness's handle on the load generator process (loadgen.mjs): one command at a time.
import { fork } from 'node:child_process'
import { fromRoot } from './paths.mjs'

export function startLoadGenerator () {
  // Not the parent's node flags: under tap they would load its instrumentation into the load generator.
  const child = fork(fromRoot('bench/harness/loadgen.mjs'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const pending = new Map()
  let seq = 0
  child.on('message', ({ id, ok, value, error }) => {
    const p = pending.get(id)
    pending.delete(id)
    if (ok) p?.resolve(value)
    else p?.reject(new Error(`load generator: ${error}`))
  })
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited (${code})`))
    pending.clear()
  })
  return {
    pid: child.pid,
    /** Runs one command of loadgen.mjs (enroll, signin, prepare, verify, status). */
    run: (cmd, args = {}) => new Promise((resolve, reject) => {
      const id = ++seq
      pending.set(id, { resolve, reject })
      child.send({ id, cmd, args })
    }),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => { resolve() })
      child.disconnect()
    }),
  }
}
