import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, type Teardownable } from './index.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export interface RunningService {
  readonly name: string
  readonly opsPort: number
  /** What the process printed (its pino lines), for assertions about logs. */
  output: () => string
  /** SIGTERM, and wait for the exit (SIGKILL after 5 s). */
  stop: () => Promise<void>
}

/**
 * Runs a built service (`services/<name>/dist/main.js`) as its own process, the way `npm start`
 * and the containers do, and waits until its /readyz answers 200.
 */
export async function startServiceProcess (t: Teardownable, name: string, env: Record<string, string>): Promise<RunningService> {
  const dir = join(repoRoot, 'services', name)
  if (!existsSync(join(dir, 'dist', 'main.js'))) throw new Error(`services/${name} is not built: run the build first (npm test does)`)
  const opsPort = await freePort()
  const child = spawn(process.execPath, ['--import', './dist/telemetry.js', 'dist/main.js'], {
    cwd: dir,
    // The gateway serves its ops routes on its HTTP port (PORT); factor services on OPS_PORT.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', OPS_HOST: '127.0.0.1', ...env, OPS_PORT: String(opsPort), PORT: String(opsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
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
  // Generous: on a loaded 2-core machine six Node processes starting at once take a while.
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} while starting:\n${out.slice(-2000)}`)
    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`).then((r) => r.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) { await stop(); throw new Error(`${name} was not ready in 60 s:\n${out.slice(-2000)}`) }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { name, opsPort, output: () => out, stop }
}
