import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, type Teardownable } from './index.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export interface RunningService {
  readonly name: string
  readonly opsPort: number
  /** The child's process id (CPU and RSS accounting, signals). */
  readonly pid: number
  /** What the process printed (its pino lines), for assertions about logs. */
  output: () => string
  /** SIGTERM, and wait for the exit (SIGKILL after 5 s). */
  stop: () => Promise<void>
}

export interface ServiceProcessOptions {
  /** Node flags before the script, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/prof']` (NODE_OPTIONS refuses --cpu-prof). */
  nodeArgs?: readonly string[]
}

/**
 * Runs a built service (`services/<name>/dist/main.js`) as its own process, the way `npm start`
 * and the containers do, and waits until its /readyz answers 200.
 */
export async function startServiceProcess (t: Teardownable, name: string, env: Record<string, string>, opts: ServiceProcessOptions = {}): Promise<RunningService> {
  const dir = join(repoRoot, 'services', name)
  if (!existsSync(join(dir, 'dist', 'main.js'))) throw new Error(`services/${name} is not built: run the build first (npm test does)`)
  const opsPort = await freePort()
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', './dist/telemetry.js', 'dist/main.js'], {
    cwd: dir,
    // The gateway serves its ops routes on its HTTP port (PORT); factor services on OPS_PORT.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', OPS_HOST: '127.0.0.1', ...env, OPS_PORT: String(opsPort), PORT: String(opsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid
  if (pid === undefined) throw new Error(`${name} could not be started`)
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  t.teardown(stop)
  // A deadline, not a wait: six services starting at once on a busy two-core machine (each loads
  // the OTel SDK first) can take well over 20 s.
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} while starting:\n${out.slice(-2000)}`)
    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`).then((r) => r.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) { await stop(); throw new Error(`${name} was not ready in 60 s:\n${out.slice(-2000)}`) }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { name, opsPort, pid, output: () => out, stop }
}
