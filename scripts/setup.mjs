// Installs what a fresh Debian/Ubuntu machine with Node >= 20 lacks, then installs dependencies
// and builds. Used by `npm start` and `npm test`; plain Node, no dependencies of its own.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const PNPM_VERSION = '10.34.9'

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts, env: { ...process.env, ...opts.env } })
  if (r.status !== 0) {
    console.error(`\n✗ ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`)
    process.exit(r.status ?? 1)
  }
}

/** Debian packages: installed with apt when missing (as root, or through sudo when available). */
export function ensureAptPackages (packages) {
  const missing = packages.filter(({ bin }) => !has(bin)).map(({ pkg }) => pkg)
  if (missing.length === 0) return
  const sudo = isRoot ? [] : has('sudo') ? ['sudo'] : null
  if (sudo === null || !has('apt-get')) {
    console.error(`✗ Missing: ${missing.join(', ')}. Install them with: apt-get install -y ${missing.join(' ')}`)
    process.exit(1)
  }
  console.log(`→ installing ${missing.join(', ')} with apt-get`)
  const env = { DEBIAN_FRONTEND: 'noninteractive' }
  const apt = (args) => sudo.length ? run('sudo', ['apt-get', ...args], { env }) : run('apt-get', args, { env })
  apt(['update', '-qq'])
  apt(['install', '-y', '-qq', '--no-install-recommends', ...missing])
}

export function ensurePnpm () {
  if (has('pnpm')) return
  console.log(`→ installing pnpm@${PNPM_VERSION}`)
  run('npm', ['install', '-g', '--no-fund', '--no-audit', `pnpm@${PNPM_VERSION}`])
}

export function installAndBuild () {
  // pnpm would otherwise try to fetch the exact packageManager version and fail its signature check.
  const env = { npm_config_manage_package_manager_versions: 'false', TURBO_TELEMETRY_DISABLED: '1' }
  const frozen = process.env.CI ? ['--frozen-lockfile'] : []
  run('pnpm', ['install', '--reporter=append-only', ...frozen], { env })
  run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], { env })
}

export function setup ({ apt = [] } = {}) {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 20) { console.error(`✗ Node >= 20 is required (this is ${process.version})`); process.exit(1) }
  ensureAptPackages([{ bin: 'nats-server', pkg: 'nats-server' }, { bin: 'redis-server', pkg: 'redis-server' }, ...apt])
  ensurePnpm()
  installAndBuild()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) setup()
export const hasBuilt = (pkgDir) => existsSync(join(root, pkgDir, 'dist'))
