import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { BusError } from '@warden/contracts'
import { withDeadline } from '@warden/service-kit'
import { fail } from '../errors.js'

/**
 * The gateway's own rate limits (ARCHITECTURE §2: in Redis, shared by every replica), on top of
 * the per-(user, factor) attempt counters inside the factor services, which the gateway never
 * touches:
 *
 * - per client IP on every /v1 route (404s included), in a root `onRequest` hook, so it runs
 *   before any route's authentication and unauthenticated floods are counted too (a per-route
 *   @fastify/rate-limit hook would run after the route's own onRequest: ECOSYSTEM §11);
 * - per sign-in transaction on POST /v1/signin/{id}/challenge and /verify, in a root `preHandler`
 *   hook matched on the route's URL pattern (the signin routes stay unaware of it): it counts the
 *   authenticated, well-formed attempts on one transaction, whatever IP they come from;
 * - per client IP on POST /v1/demo/login.
 *
 * Each limit is one @fastify/rate-limit instance (fixed one-minute window, Lua INCR + PEXPIRE in
 * Redis, keys `gw:rl:<limit>:<key>`), used through `createRateLimit` so that the answer is ours:
 * 429 RATE_LIMITED with `retryAfterSec` and `Retry-After`. If Redis cannot answer (error, or no
 * answer within CHECK_TIMEOUT_MS) the request is refused with 503 UNAVAILABLE: the limiter fails
 * closed (`skipOnError: false`, SECURITY §1.4).
 *
 * `req.ip` is the socket's peer: behind a reverse proxy every client shares the proxy's address
 * unless Fastify's `trustProxy` is set for it.
 */

export interface RateLimitOptions {
  ipPerMin: number
  transactionPerMin: number
  demoLoginPerMin: number
}

export const RATE_LIMIT_PREFIX = 'gw:rl'
const WINDOW_MS = 60_000
/** A limiter that cannot reach Redis this fast refuses the request rather than wait. */
const CHECK_TIMEOUT_MS = 1_000

type Check = ReturnType<FastifyInstance['createRateLimit']>
type Limit = 'ip' | 'transaction' | 'demo_login'

/** POST routes that spend a sign-in transaction's attempts; the capture is the param's name. */
const TRANSACTION_ROUTE = /^\/v1\/signin\/:([A-Za-z0-9_]+)\/(?:challenge|verify)$/

/**
 * The transaction a request spends, from its route pattern and params: the key of the
 * per-transaction limit, or undefined when the route is not one of those. Pure.
 */
export function transactionOf (method: string, routeUrl: string | undefined, params: unknown): string | undefined {
  if (method !== 'POST' || routeUrl === undefined) return undefined
  const m = TRANSACTION_ROUTE.exec(routeUrl)
  if (m === null || typeof params !== 'object' || params === null) return undefined
  const id = (params as Record<string, unknown>)[m[1] as string]
  return typeof id === 'string' && id.length > 0 ? id : undefined
}

/** /v1 and everything under it (the query string aside). */
export function isV1 (url: string): boolean {
  return /^\/v1(?:[/?#]|$)/.test(url)
}

async function rateLimitPlugin (app: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  /** One limiter in a scope of its own: its own Redis key prefix and maximum. */
  async function limiter (limit: Limit, max: number, keyGenerator?: (req: FastifyRequest) => string): Promise<Check> {
    let check: Check | undefined
    await app.register(async (scope) => {
      await scope.register(rateLimit, {
        global: false,
        redis: app.redis,
        nameSpace: `${RATE_LIMIT_PREFIX}:${limit}:`,
        max,
        timeWindow: WINDOW_MS,
        skipOnError: false,
        // The default key is the client IP, IPv6 grouped per /64.
        ...(keyGenerator === undefined ? {} : { keyGenerator }),
      })
      check = scope.createRateLimit()
    })
    if (check === undefined) throw new Error('rate limiter not created')
    return check
  }

  const byIp = await limiter('ip', opts.ipPerMin)
  const byTransaction = await limiter('transaction', opts.transactionPerMin,
    (req) => transactionOf(req.method, req.routeOptions.url, req.params) ?? '')
  const byDemoLogin = await limiter('demo_login', opts.demoLoginPerMin)

  async function enforce (check: Check, limit: Limit, req: FastifyRequest): Promise<void> {
    let res: Awaited<ReturnType<Check>>
    try {
      res = await withDeadline(check(req), CHECK_TIMEOUT_MS, 'the rate-limit store')
    } catch (cause) {
      if (BusError.is(cause)) throw cause
      app.metrics.inc('rate_limit_errors_total', { limit })
      throw new BusError('UNAVAILABLE', 'the rate limiter is unavailable', { cause, retryAfterSec: 5 })
    }
    if (res.isAllowed || !res.isExceeded) return
    app.metrics.inc('rate_limited_total', { limit })
    const retryAfterSec = Math.max(1, res.ttlInSeconds)
    throw fail('RATE_LIMITED', `too many requests: try again in ${retryAfterSec} s`, { retryAfterSec })
  }

  app.addHook('onRequest', async (req) => {
    if (!isV1(req.url)) return
    await enforce(byIp, 'ip', req)
    if (req.method === 'POST' && req.routeOptions.url === '/v1/demo/login') await enforce(byDemoLogin, 'demo_login', req)
  })

  app.addHook('preHandler', async (req) => {
    if (transactionOf(req.method, req.routeOptions.url, req.params) !== undefined) await enforce(byTransaction, 'transaction', req)
  })
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['redis', 'errors', 'ops'] })
