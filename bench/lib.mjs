// Shared by the benchmarks in bench/: a TOTP code generator (RFC 6238, SHA-1, 6 digits), a
// closed-loop load runner and the BENCHMARKS.md writer (machine and date with every result).
import { createHmac } from 'node:crypto'
import { appendFileSync, existsSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The code of `step` for a base32 `secret`, as an authenticator app computes it. */
export function totp (secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secret) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))
  const msg = Buffer.alloc(8); msg.writeBigUInt64BE(BigInt(step))
  const h = createHmac('sha1', key).update(msg).digest()
  const o = h[h.length - 1] & 0xf
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

/** Runs `jobs` with `concurrency` workers; latency per job and throughput overall. */
export async function run (name, jobs, concurrency) {
  const lat = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]
      const s = performance.now()
      await job()
      lat.push(performance.now() - s)
    }
  }))
  const secs = (performance.now() - t0) / 1000
  lat.sort((a, b) => a - b)
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2)
  const row = { name, requests: lat.length, perSec: Math.round(lat.length / secs), p50: q(0.5), p95: q(0.95), p99: q(0.99) }
  console.log(row)
  return row
}

/** Appends one result table to BENCHMARKS.md, with the machine and the date. */
export function writeResults (title, setup, rows) {
  const file = join(root, 'BENCHMARKS.md')
  if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nWritten by the scripts in `bench/`. Numbers are from one machine; compare runs on the same machine only.\n')
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
  appendFileSync(file, [
    '', `## ${title} — ${new Date().toISOString().slice(0, 10)}`, '',
    `Machine: ${machine}. ${setup}`, '',
    '| operation | requests | req/s | p50 ms | p95 ms | p99 ms |', '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.requests} | ${r.perSec} | ${r.p50} | ${r.p95} | ${r.p99} |`), '',
  ].join('\n'))
  console.log('appended to BENCHMARKS.md')
}
