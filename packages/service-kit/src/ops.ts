import { createServer, type Server } from 'node:http'

/** Prometheus-style counters for /metrics; labels are fixed strings (never user data). */
export interface Metrics {
  inc: (name: string, labels?: Record<string, string>, by?: number) => void
  render: () => string
}

const UNSAFE = /["\\\n]/
const UNSAFE_ALL = /["\\\n]/g

export function createMetrics (service: string): Metrics {
  const counters = new Map<string, number>()
  const started = Date.now()
  // Called several times per request (a profiled sign-in showed the old entries/map/replace/join
  // at ~1% of the gateway): one pass, and the escaping regex only replaces when it must.
  const escape = (v: string) => (UNSAFE.test(v) ? v.replace(UNSAFE_ALL, '_') : v)
  const fmt = (labels: Record<string, string>) => {
    let out = 'service' in labels ? '' : `service="${escape(service)}"`
    for (const k in labels) out += `${out === '' ? '' : ','}${k}="${escape(labels[k] as string)}"`
    return out
  }
  return {
    inc (name, labels = {}, by = 1) {
      const k = `warden_${name}{${fmt(labels)}}`
      counters.set(k, (counters.get(k) ?? 0) + by)
    },
    render () {
      const lines = [`warden_uptime_seconds{${fmt({})}} ${Math.floor((Date.now() - started) / 1000)}`]
      for (const [k, v] of counters) lines.push(`${k} ${v}`)
      return lines.join('\n') + '\n'
    },
  }
}

export type ReadinessCheck = () => Promise<boolean>

export interface OpsServer { port: number, close: () => Promise<void> }

/** /healthz (the process runs), /readyz (its dependencies answer) and /metrics on a small port. */
export async function startOpsServer (opts: { host: string, port: number, ready: Record<string, ReadinessCheck>, metrics: Metrics }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(typeof body === 'string' ? body : JSON.stringify(body))
    }
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET') { send(405, { error: { code: 'BAD_REQUEST', message: 'GET only' } }); return }
    if (path === '/healthz') { send(200, { status: 'ok' }); return }
    if (path === '/metrics') { send(200, opts.metrics.render(), 'text/plain; version=0.0.4'); return }
    if (path === '/readyz') {
      void Promise.all(Object.entries(opts.ready).map(async ([name, check]) => {
        const ok = await Promise.race([check().catch(() => false), new Promise<boolean>((resolve) => setTimeout(() => { resolve(false) }, 1_000))])
        return [name, ok ? 'ok' : 'down'] as const
      })).then((results) => {
        const checks = Object.fromEntries(results)
        const ok = results.every(([, s]) => s === 'ok')
        send(ok ? 200 : 503, { status: ok ? 'ready' : 'not_ready', checks })
      })
      return
    }
    send(404, { error: { code: 'NOT_FOUND', message: 'not found' } })
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(opts.port, opts.host, resolve) })
  const addr = server.address()
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : opts.port,
    close: () => new Promise((resolve) => { server.close(() => { resolve() }) }),
  }
}
