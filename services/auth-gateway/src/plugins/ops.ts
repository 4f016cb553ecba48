import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { createMetrics, type Metrics } from '@warden/service-kit'

declare module 'fastify' {
  interface FastifyInstance { metrics: Metrics }
}

const CHECK_TIMEOUT_MS = 1_000

async function within (check: () => Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      check().catch(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, CHECK_TIMEOUT_MS) }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

const Ready = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({
    nats: Type.Union([Type.Literal('ok'), Type.Literal('down')]),
    redis: Type.Union([Type.Literal('ok'), Type.Literal('down')]),
  }),
}, { examples: [{ status: 'ready', checks: { nats: 'ok', redis: 'ok' } }, { status: 'not_ready', checks: { nats: 'ok', redis: 'down' } }] })
const Healthy = Type.Object({ status: Type.Literal('ok') }, { examples: [{ status: 'ok' }] })
const MetricsText = Type.String({
  examples: ['# TYPE warden_http_requests_total counter\nwarden_http_requests_total{service="auth-gateway",method="GET",route="/healthz",status="200"} 1\n'],
})

/**
 * /healthz, /readyz and /metrics on the gateway's own port (factor services use a separate ops
 * port; the gateway already has an HTTP server). Metric labels are route templates and status
 * codes, never user data.
 */
async function opsPlugin (app: FastifyInstance): Promise<void> {
  const metrics = createMetrics('auth-gateway')
  app.decorate('metrics', metrics)

  app.addHook('onResponse', async (req, reply) => {
    metrics.inc('http_requests_total', { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) })
  })

  const tags = ['ops']
  app.get('/healthz', {
    schema: { tags, summary: 'The process runs', security: [], response: { 200: Healthy } },
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    schema: { tags, summary: 'NATS and Redis answer', security: [], response: { 200: Ready, 503: Ready } },
  }, async (_req, reply) => {
    const [nats, redis] = await Promise.all([
      within(async () => { if (app.nats.isClosed()) return false; await app.nats.flush(); return true }),
      within(async () => (await app.redis.ping()) === 'PONG'),
    ])
    const ok = nats && redis
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ready' : 'not_ready',
      checks: { nats: nats ? 'ok' : 'down', redis: redis ? 'ok' : 'down' },
    })
  })

  app.get('/metrics', {
    schema: { tags, summary: 'Prometheus text format', security: [], produces: ['text/plain'], response: { 200: MetricsText } },
  }, async (_req, reply) => {
    return reply.type('text/plain; version=0.0.4').send(metrics.render())
  })
}

export default fp(opsPlugin, { name: 'ops', dependencies: ['nats', 'redis'] })
