// `npm test`: installs what is missing, builds, type-checks, then runs every test file of every
// package in one tap run against real nats-server/redis-server processes (started per test file
// by @warden/testkit). The last line is a plain `N passed, N failed` for CI.
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { root, setup } from './setup.mjs'

// Chromium (Debian's) runs the hosted UI's browser tests.
setup({ apt: [{ bin: 'chromium', pkg: 'chromium' }] })

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', npm_config_manage_package_manager_versions: 'false' }
const typecheck = spawnSync('pnpm', ['exec', 'turbo', 'run', 'typecheck', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit', env })
if (typecheck.status !== 0) {
  console.log('\n0 passed, 1 failed')
  process.exit(1)
}

function testFiles (dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...testFiles(p))
    else if (name.endsWith('.test.ts')) out.push(relative(root, p))
  }
  return out
}
const files = ['packages', 'services', 'bench'].flatMap((top) => {
  const base = join(root, top)
  try { return readdirSync(base).flatMap((pkg) => { try { return testFiles(join(base, pkg, 'test')) } catch { return [] } }) } catch { return [] }
}).sort()
const only = process.argv.slice(2)
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files
console.log(`→ running ${selected.length} test files`)

const tap = spawn('pnpm', ['exec', 'tap', ...selected], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] })
let tail = ''
tap.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  tail = (tail + chunk.toString()).slice(-20_000)
})
tap.on('close', (code) => {
  // tap's own closing line looks like `# { total: 60, pass: 59, skip: 1 }`.
  const summary = [...tail.matchAll(/# \{ total: (\d+)([^}]*)\}/g)].pop()
  const count = (key) => Number(new RegExp(`${key}: (\\d+)`).exec(summary?.[2] ?? '')?.[1] ?? 0)
  const passed = count('pass')
  let failed = count('fail')
  if (summary === undefined || (code !== 0 && failed === 0)) failed += 1
  const skipped = count('skip') + count('todo')
  // CI reads the very last line, so it is exactly `N passed, N failed`; skips are reported above it.
  if (skipped) console.log(`\n${skipped} skipped (see the # SKIP lines above for why)`)
  console.log(`\n${passed} passed, ${failed} failed`)
  process.exit(code === 0 && failed === 0 ? 0 : 1)
})
