import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { fail } from '../errors.js'
import type { Principal } from './tokens.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: the primary token must verify; its principal is then `req.principal`. */
    authenticate: (req: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest { principal: Principal | null }
}

/** The verified principal of a request that went through `authenticate`. */
export function principalOf (req: FastifyRequest): Principal {
  if (req.principal === null) throw fail('INTERNAL', 'internal error') // a route without the hook: our bug
  return req.principal
}

async function authPlugin (app: FastifyInstance): Promise<void> {
  app.decorateRequest('principal', null)
  // onRequest runs before the body is parsed: unauthenticated callers learn nothing about schemas.
  app.decorate('authenticate', async (req: FastifyRequest) => {
    // The hosted pages (src/plugins/hosted.ts) carry a session cookie instead of a primary token.
    const hosted = app.hasDecorator('hostedPrincipal') ? await app.hostedPrincipal(req) : undefined
    req.principal = hosted ?? await app.tokens.verifyPrimary(req)
  })
}

export default fp(authPlugin, { name: 'auth', dependencies: ['tokens'] })
