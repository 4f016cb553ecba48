// BENCHMARKS.md from one suite result: rewritten whole every time, never appended.
import { existsSync, readFileSync } from 'node:fs'
import { fromRoot } from './paths.mjs'

const n0 = (x) => Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a'
const n1 = (x) => Number.isFinite(x) ? x.toFixed(1) : 'n/a'
const n2 = (x) => Number.isFinite(x) ? x.toFixed(2) : 'n/a'
const mib = (b) => Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(1)} MiB` : 'n/a'
/** A median with its spread over the runs: `650 (612–671)`. */
const med = (sp, f = n0) => sp === undefined ? 'n/a' : `${f(sp.median)} (${f(sp.min)}–${f(sp.max)})`
const errs = (count, byKind) => count === 0 ? '0' : `**${count}** (${Object.entries(byKind ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ')})`

function goals (r) {
  const rows = []
  const goal = (name, target, value, met) => rows.push(`| ${name} | ${target} | ${value} | ${met === undefined ? 'not measured' : met ? 'met' : '**not met**'} |`)
  const p2 = r.P2?.verifiesPerSec?.median
  goal('P2 end-to-end TOTP verifies/s', '≥ 3,000', n0(p2), p2 === undefined ? undefined : p2 >= 3000)
  goal('P1 ratio bus / in-process', '≥ 0.5', n2(r.P1?.ratio), r.P1?.ratio === undefined ? undefined : r.P1.ratio >= 0.5)
  const p3 = r.P3?.levels?.find((l) => l.pct === 50)?.p99?.median
  goal('P3 p99 at 50% load', '≤ 10 ms', `${n1(p3)} ms`, p3 === undefined ? undefined : p3 <= 10)
  goal('P4 p50 ratio serve()/request() vs bare', '≤ 1.25', n2(r.P4?.p50Ratio), r.P4?.p50Ratio === undefined ? undefined : r.P4.p50Ratio <= 1.25)
  const tx = r.P5?.transactions?.avgBytes
  goal('P5 Redis bytes per sign-in transaction', '≤ 1 KiB', n0(tx), tx === undefined ? undefined : tx <= 1024)
  const pending = r.P5?.pending === undefined ? undefined : Object.entries(r.P5.pending)
  const worst = pending === undefined ? undefined : Math.max(...pending.map(([, p]) => p.avgBytes))
  goal('P5 Redis bytes per pending challenge (sms, push, webauthn)', '≤ 1 KiB', pending === undefined ? 'n/a' : pending.map(([f, p]) => `${f} ${n0(p.avgBytes)}`).join(', '), worst === undefined ? undefined : worst <= 1024)
  const idle = r.idleRss === undefined ? undefined : Math.max(...Object.values(r.idleRss))
  goal('P5 idle RSS per service (largest)', '≤ 120 MiB', mib(idle), idle === undefined ? undefined : idle <= 120 * 2 ** 20)
  const soakErr = r.P6?.errorCount
  goal('P6 soak errors', '0', n0(soakErr), soakErr === undefined ? undefined : soakErr === 0)
  // The goal is about Warden's services; nats-server and redis-server are shown beside them in P6.
  const largest = (pct) => Math.max(...Object.entries(pct).filter(([k]) => !SERVERS.includes(k)).map(([, v]) => v))
  const growth = r.P6?.samples === undefined ? undefined : largest(steadyGrowthPct(r.P6.samples))
  const fromStart = r.P6?.growthPct === undefined ? undefined : largest(r.P6.growthPct)
  goal('P6 RSS growth (largest service, once warm)', '≤ 10%', `${n1(growth)}% (${n1(fromStart)}% from the first sample, warm-up included)`, growth === undefined ? undefined : growth <= 10)
  return ['| goal | target | value | |', '|---|---|---|---|', ...rows]
}

/** The Markdown of BENCHMARKS.md. */
const SERVERS = ['nats-server', 'redis-server']

/**
 * RSS growth once warm: the last sample against the one at a quarter of the soak. The first
 * samples include each process's warm-up (JIT code, connection pools, caches filled by the first
 * users), which is growth but not a leak; a leak keeps growing after it.
 */
function steadyGrowthPct (samples) {
  const base = samples[Math.floor((samples.length - 1) / 4)].rss
  const last = samples[samples.length - 1].rss
  return Object.fromEntries(Object.keys(base).map((k) => [k, (100 * (last[k] - base[k])) / base[k]]))
}

export function renderReport ({ machine: m, mode, settings, only, profile, results: r }, { command = 'npm run bench' } = {}) {
  const out = []
  const section = (title, ...lines) => out.push('', `## ${title}`, '', ...lines)
  out.push('# Benchmarks', '',
    'Written by `npm run bench` (bench/run.mjs), which rewrites this whole file: never edit it by hand. Compare figures from one machine only.')
  if (mode !== 'full') out.push('', `> **${mode.toUpperCase()} RUN: the figures below are NOT representative.** \`--${mode}\` uses short runs for developing the harness (sizes below), on a machine shared with other work. Run \`npm run bench\` on a quiet machine for the real figures.`)
  section('Machine and run',
    `- Machine: ${m.cores} × ${m.cpu}, ${n1(m.ramGiB)} GiB RAM; Node ${m.node}; ${m.natsServer}; ${m.redisServer}`,
    `- Date: ${m.date}; commit \`${m.commit}\`${m.dirty ? ' (**dirty**: uncommitted changes)' : ''}`,
    `- Command: \`${command}\`; mode ${mode}; scenarios ${only.join(', ')}${profile ? '; with CPU profiles' : ''}`,
    `- Stack as under \`npm start\`: nats-server (JetStream) and redis-server on loopback, the gateway and factor-totp, factor-push, factor-sms, factor-webauthn, recovery and notifier each their own Node process (services/<name>/dist/main.js with the OTel preload). Raised through their environment (bench/harness/stack.mjs): the gateway's rate limits (the load comes from one IP), push's pushes per user (100 a minute; one open push per user stays), SMS's sending budgets, resend cooldown and conversion breaker; everything else is default. factor-push runs without FCM: the app fetches its pending challenges itself.`,
    `- Load: autocannon ${'9.0.0'} in its own process (bench/harness/loadgen.mjs), each request built with its own user, transaction and code; every status and every answer is checked: errors are counted below, never dropped. A run's time ends at its last response. The fake Vonage (testkit) runs in the load generator's process, which reads the SMS codes from it.`,
    `- Users: ${n0(r.enrollment?.users)} enrolled through the REST API (demo login, POST /v1/me/totp, confirm) at the start of this run; each signs in at most once per 30 s TOTP step, so the replay ledger never rejects. Enrollment errors (retried): ${errs(Object.values(r.enrollment?.errors ?? {}).reduce((a, b) => a + b, 0), r.enrollment?.errors)}.`,
    `- Figures: median of ${settings.runs} measured runs, (min–max) in brackets, after a warm-up of ${n0(settings.warmup)} sign-ins (${n0(r.warmup?.signinsPerSec)} sign-ins/s, errors ${errs(r.warmup?.errorCount ?? 0, r.warmup?.errors)}). Requests behind each throughput figure, over its runs: P1 ${n0(settings.runs * settings.signins * 2)} per side, P2 and scaling ${n0(settings.runs * settings.verifies)}, P4 ${n0(settings.runs * settings.busHop)} per variant; P3 holds each rate for ${settings.p3Sec} s per run; the factors' paths ${n0(settings.runs * settings.factorSignins)} sign-ins each.`,
    '- All processes, the load generator included, share the same cores: every figure is for the whole system on this machine.',
    `- Wall time per scenario (enrollment included): ${Object.entries(r).filter(([, v]) => v?.wallSec !== undefined).map(([k, v]) => `${k} ${n0(v.wallSec)} s`).join(', ')}.`)
  section('Goals (issue 15)', ...goals(r))
  const failed = (x) => x?.failure !== undefined ? [`Failed: \`\`\`\n${x.failure}\n\`\`\``] : undefined
  if (r.P1 !== undefined) {
    section('P1: TOTP sign-in end to end, over the bus and in one process', ...(failed(r.P1) ?? [
      `How: ${r.P1.how}. The in-process side is bench/harness/in-process-server.mjs: the gateway's own sign-in use cases, flow store and token code calling factor-totp's service.ts with the same Redis and JetStream KV adapters, in one process, no bus (it skips the four other factors' describe calls, which the bus side makes).`, '',
      '| | sign-ins/s | p50 ms (per request) | errors |', '|---|---|---|---|',
      `| HTTP → gateway → NATS → factor-totp | ${med(r.P1.bus.signinsPerSec)} | ${med(r.P1.bus.latencyP50, n1)} | ${errs(r.P1.bus.errorCount, r.P1.bus.errors)} |`,
      `| HTTP → one process (no bus) | ${med(r.P1.inProcess.signinsPerSec)} | ${med(r.P1.inProcess.latencyP50, n1)} | ${errs(r.P1.inProcess.errorCount, r.P1.inProcess.errors)} |`,
      '', `Ratio bus / in-process: **${n2(r.P1.ratio)}**.`]))
  }
  if (r.P2 !== undefined) {
    section('P2: TOTP verifies per second, end to end', ...(failed(r.P2) ?? [
      `How: ${r.P2.how}.`, '',
      '| verifies/s | p50 ms | p99 ms | errors |', '|---|---|---|---|',
      `| ${med(r.P2.verifiesPerSec)} | ${med(r.P2.latency.p50, n1)} | ${med(r.P2.latency.p99, n1)} | ${errs(r.P2.errorCount, r.P2.errors)} |`,
      '', 'CPU seconds per 1,000 verifies, per process (from /proc/<pid>/stat, median of the runs):', '',
      '| process | CPU s / 1,000 verifies |', '|---|---|',
      ...Object.entries(r.P2.cpuSecPer1000).map(([k, v]) => `| ${k} | ${n2(v)} |`)]))
  }
  if (r.P3 !== undefined) {
    section('P3: verify latency at a fixed arrival rate', ...(failed(r.P3) ?? [
      `How: ${r.P3.how}.`, '',
      '| load | rate /s | achieved /s | p50 ms | p90 ms | p99 ms | errors |', '|---|---|---|---|---|---|---|',
      ...r.P3.levels.map((l) => `| ${l.pct}% | ${n0(l.rate)} | ${med(l.achieved)} | ${med(l.p50, n1)} | ${med(l.p90, n1)} | ${med(l.p99, n1)} | ${errs(l.errorCount, l.errors)} |`)]))
  }
  if (r.P4 !== undefined) {
    section('P4: one bus hop, service-kit serve()/request() against bare nats.js', ...(failed(r.P4) ?? [
      `How: ${r.P4.how}.`, '',
      '| variant | requests/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|',
      ...Object.entries(r.P4.variants).map(([k, v]) => `| ${k} | ${med(v.perSec)} | ${med(v.p50, n2)} | ${med(v.p99, n2)} | ${v.errors} |`),
      '', `p50 ratio serve()/request() ÷ bare: **${n2(r.P4.p50Ratio)}**; throughput ratio: ${n2(r.P4.throughputRatio)}.`]))
  }
  if (r.P5 !== undefined) {
    const rows = Object.keys(r.idleRss ?? {}).map((k) => `| ${k} | ${mib(r.idleRss[k])} | ${mib(r.P5.loadedRss?.[k])} |`)
    section('P5: memory', ...(failed(r.P5) ?? [
      `How: ${r.P5.how}. Loaded RSS is the peak during the first P2 run.`, '',
      `- Sign-in transaction in Redis: **${n0(r.P5.transactions.avgBytes)} bytes** on average over ${n0(r.P5.transactions.count)} (errors ${errs(r.P5.transactions.errorCount, r.P5.transactions.errors)}).`,
      ...(r.P5.pending === undefined ? [] : [
        `- Pending challenges (${r.P5.pendingHow}):`, '',
        '| factor | challenges | bytes per challenge | by key prefix (bytes per challenge) | errors |', '|---|---|---|---|---|',
        ...Object.entries(r.P5.pending).map(([f, p]) => `| ${f} | ${n0(p.count)} | **${n0(p.avgBytes)}** | ${Object.entries(p.byPrefix).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${n0(v / Math.max(1, p.count))}`).join(', ')} | ${errs(p.errorCount, p.errors)} |`), '']),
      '| process | idle RSS | loaded RSS (P2) |', '|---|---|---|', ...rows]))
  }
  if (r.SCALE !== undefined) {
    section('Scaling: one and two factor-totp replicas', ...(failed(r.SCALE) ?? [
      `How: ${r.SCALE.how}.`, '',
      '| factor-totp replicas | verifies/s | errors |', '|---|---|---|',
      `| 1 (P2) | ${med(r.SCALE.oneReplica)} | |`,
      `| 2 | ${med(r.SCALE.twoReplicas)} | ${errs(r.SCALE.errorCount, r.SCALE.errors)} |`, '',
      'On 2 cores a second replica cannot add CPU: every process (gateway, factor services, nats-server, redis-server and the load generator) already shares the same two cores, so the second replica only spreads factor-totp\'s share over two event loops (and adds a process to schedule). What transfers to bigger nodes is the CPU cost per verify:',
      `the server side (every process but the load generator) spends **${n2(r.SCALE.serverCpuSecPer1000)} CPU s per 1,000 verifies**, i.e. about **${n0(r.SCALE.verifiesPerCoreSec)} verifies/s per core** when each process gets cores of its own (per-process split under P2).`]))
  }
  if (r.P6 !== undefined) {
    section('P6: soak', ...(failed(r.P6) ?? [
      `How: ${r.P6.how}.`, '',
      `| at s | sign-ins | errors | ${Object.keys(r.P6.samples[0].rss).join(' | ')} |`,
      `|---|---|---|${Object.keys(r.P6.samples[0].rss).map(() => '---').join('|')}|`,
      ...r.P6.samples.map((x) => `| ${x.atSec} | ${n0(x.signins)} | ${errs(x.errorCount, x.errors)} | ${Object.values(x.rss).map(mib).join(' | ')} |`),
      `| growth from the first sample | | ${n0(r.P6.errorCount)} | ${Object.values(r.P6.growthPct).map((g) => `${n1(g)}%`).join(' | ')} |`,
      `| growth once warm (from the sample at ${r.P6.samples[Math.floor((r.P6.samples.length - 1) / 4)].atSec} s) | | | ${Object.values(steadyGrowthPct(r.P6.samples)).map((g) => `${n1(g)}%`).join(' | ')} |`]))
  }
  const factorIds = Object.keys(r).filter((k) => k.startsWith('F-'))
  if (factorIds.length > 0) {
    section('Every factor\'s sign-in path',
      'Each factor\'s users are enrolled first through the REST API (demo login, then push: POST /v1/me/push/pairing and the app\'s POST /v1/push/devices with a device-signed JWT from the authenticator\'s key code; SMS: POST /v1/me/phones and its verify with the code the fake Vonage received; WebAuthn: POST /v1/me/webauthn/options and POST /v1/me/webauthn with testkit\'s software authenticator, a passkey). Device JWTs (ES256) and WebAuthn assertions are computed between the steps, untimed.',
      ...factorIds.flatMap((id) => {
        const f = r[id]
        return ['', `### ${id}`, '', ...(failed(f) ?? [
          `How: ${f.how}. Whole sign-in: ${med(f.signinsPerSec)} sign-ins/s (the batch over the sum of its steps' times). Errors: ${errs(f.errorCount, f.errors)}; warm-up errors ${errs(f.warmup.errorCount, f.warmup.errors)}; ${n0(f.enrolled.users)} users enrolled at ${n0(f.enrolled.perSec)}/s (errors ${errs(Object.values(f.enrolled.errors).reduce((a, b) => a + b, 0), f.enrolled.errors)}).`, '',
          '| step | requests/run | requests/s | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|---|---|',
          ...f.steps.map((x) => `| ${x.label} | ${n0(x.requests.median)} | ${med(x.perSec)} | ${med(x.p50, n1)} | ${med(x.p90, n1)} | ${med(x.p99, n1)} |`)])]
      }))
  }
  const profiles = r.P2?.profiles
  if (profiles !== undefined) {
    section('CPU profiles under P2 load', 'One extra P2 run (not counted above): the gateway and factor-totp restarted with `node --cpu-prof`, warmed up, the run, then stopped (SIGTERM: V8 writes the profile on the graceful exit); only the samples taken during the run count. Self time per function, top 15, as a share of the busy (non-idle) time.',
      ...Object.entries(profiles).flatMap(([name, p]) => ['', `### ${name} (${n0(p.totalMs)} ms busy, ${n0(p.idleMs)} ms idle)`, '', '| self % | self ms | function | where |', '|---|---|---|---|',
        ...p.top.map((t) => `| ${n1(t.percent)} | ${n0(t.selfMs)} | \`${t.fn}\` | ${t.where === '' ? '(native)' : `\`${t.where}\``} |`)]))
  }
  // Written by hand after a run: why the goals not met are not, from that run's figures and profiles.
  const analysis = fromRoot('bench/ANALYSIS.md')
  if (existsSync(analysis)) section('Where the time goes', readFileSync(analysis, 'utf8').trim())
  const fixes = fromRoot('bench/FIXES.md')
  if (existsSync(fixes)) section('Fixes', readFileSync(fixes, 'utf8').trim())
  return out.join('\n') + '\n'
}
