import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Clock, Log } from '@warden/service-kit'
import { createAuthorizeStore } from '../adapters/authorize-store.js'
import { createAuthorizeService, type AuthorizeService, type HostedSession } from '../authorize.js'
import type { GatewayConfig } from '../config.js'
import { fail } from '../errors.js'
import type { Principal } from './tokens.js'

/**
 * The browser side of the hosted flow (src/authorize.ts). A hosted session is an HttpOnly
 * `__Host-` cookie that stands in for the primary token on the existing sign-in API, bound to the
 * user and the application of the pushed request, so the hosted pages run the same transaction
 * (methods, "Try another way", enrollment, step-up) as any client, with three differences kept
 * here rather than in the use cases:
 *
 * - `POST /v1/signin` takes the purpose and action of the pushed request, whatever the page sends,
 *   and the remember-this-device token from its cookie (the page never sees it);
 * - answers of /v1/signin* lose their `token` (kept in the session, turned into a code by
 *   `POST /v1/authorize/complete`) and their `rememberToken` (set as its cookie instead);
 * - a cross-site request with the cookie is refused (SameSite=Lax already keeps it off
 *   cross-site POSTs; Sec-Fetch-Site says so explicitly where the browser sends it).
 */

export const SESSION_COOKIE = '__Host-warden-hosted'
export const REMEMBER_COOKIE = '__Host-warden-remember'
const REMEMBER_MAX_AGE_SEC = 30 * 86_400
const REMEMBER_TOKEN = /^rd_[A-Za-z0-9_-]{43}$/
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

declare module 'fastify' {
  interface FastifyInstance {
    /** The hosted flow's use cases. */
    authorize: AuthorizeService
    /** The principal of a request that carries a live hosted-session cookie (and no Authorization), else undefined. */
    hostedPrincipal: (req: FastifyRequest) => Promise<Principal | undefined>
  }
  interface FastifyRequest {
    /** Set when the request was authenticated by a hosted-session cookie. */
    hosted: { id: string, session: HostedSession } | null
  }
}

/** `name=value` pairs of the Cookie header (values are ours: base64url, no quoting). */
export function cookieOf (req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie
  if (typeof header !== 'string') return undefined
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return undefined
}

/** A `__Host-` cookie: Secure, Path=/, no Domain; HttpOnly and SameSite=Lax (SECURITY.md §4.1). */
export function setHostCookie (reply: FastifyReply, name: string, value: string, maxAgeSec: number): void {
  void reply.header('set-cookie', `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSec}`)
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

async function hostedPlugin (app: FastifyInstance, { config, clock }: { config: GatewayConfig, clock: Clock }): Promise<void> {
  const authorize = createAuthorizeService({
    applications: app.applications,
    store: createAuthorizeStore(app.redis),
    clock,
    log: app.log as Log,
    metrics: app.metrics,
    sessionTtlMs: config.SIGNIN_TTL_SEC * 1000,
    tokenTtlMs: config.MFA_TOKEN_TTL_SEC * 1000,
  })
  app.decorate('authorize', authorize)
  app.decorateRequest('hosted', null)

  app.decorate('hostedPrincipal', async (req: FastifyRequest): Promise<Principal | undefined> => {
    if (req.headers.authorization !== undefined) return undefined
    const id = cookieOf(req, SESSION_COOKIE)
    if (id === undefined || !SESSION_ID.test(id)) return undefined
    const site = req.headers['sec-fetch-site']
    if (UNSAFE.has(req.method) && site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw fail('FORBIDDEN', 'a hosted sign-in is only driven from its own page')
    }
    const session = await authorize.session(id)
    if (session === undefined) return undefined
    req.hosted = { id, session }
    return {
      sub: session.userId,
      clientId: session.clientId,
      accountName: session.accountName,
      ...(session.authTime === undefined ? {} : { authTime: session.authTime }),
    }
  })

  // The pushed request decides what this sign-in is for; the device's token comes from its cookie.
  app.addHook('preValidation', async (req) => {
    if (req.hosted === null || req.method !== 'POST' || req.routeOptions.url !== '/v1/signin') return
    const body: unknown = req.body ?? {}
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return
    const { purpose: _p, action: _a, rememberToken: _r, ...rest } = body as Record<string, unknown>
    const remembered = cookieOf(req, REMEMBER_COOKIE)
    const { session } = req.hosted
    req.body = {
      ...rest,
      ...(session.purpose === 'step-up' ? { purpose: 'step-up', action: session.action } : {}),
      ...(remembered !== undefined && REMEMBER_TOKEN.test(remembered) && session.purpose === 'signin' ? { rememberToken: remembered } : {}),
    }
  })

  // Tokens of a hosted sign-in stay out of the browser: the MFA token in the session, the device's in its cookie.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.hosted === null || !req.url.startsWith('/v1/signin') || reply.statusCode !== 200 || typeof payload !== 'string') return payload
    let answer: Record<string, unknown>
    try {
      answer = JSON.parse(payload) as Record<string, unknown>
    } catch {
      return payload
    }
    if (typeof answer !== 'object' || answer === null) return payload
    const { token, rememberToken, ...rest } = answer
    if (typeof token !== 'string' && typeof rememberToken !== 'string') return payload
    if (typeof token === 'string') await authorize.keepToken(req.hosted.id, token)
    if (typeof rememberToken === 'string') setHostCookie(reply, REMEMBER_COOKIE, rememberToken, REMEMBER_MAX_AGE_SEC)
    return JSON.stringify(typeof token === 'string' ? { ...rest, hosted: 'complete' } : rest)
  })
}

export default fp(hostedPlugin, { name: 'hosted', dependencies: ['stores', 'redis', 'ops'] })
