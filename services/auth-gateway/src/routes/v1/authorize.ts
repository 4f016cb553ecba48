import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { fail } from '../../errors.js'
import { SESSION_COOKIE, setHostCookie } from '../../plugins/hosted.js'
import { errorResponses } from '../../schema-parts.js'
import {
  AuthorizeAnswer, AuthorizeBody, CancelBody, CompleteBody, RedirectAnswer, SessionAnswer, SessionBody, TokenAnswer, TokenBody,
} from '../../schemas-authorize.js'

/**
 * The hosted flow over HTTP (src/authorize.ts): the application's backend pushes the request and
 * exchanges the code; the hosted page opens, completes or cancels its session (a cookie).
 */
const authorizeRoutes: FastifyPluginAsyncTypebox<{ publicUrl: string | undefined, sessionTtlSec: number }> = async (app, opts) => {
  /** The hosted session of this request (its cookie), or 401. */
  const hostedSessionOf = async (req: FastifyRequest): Promise<string> => {
    await app.hostedPrincipal(req)
    if (req.hosted === null) throw fail('UNAUTHENTICATED', 'this sign-in has ended: go back to the application')
    return req.hosted.id
  }

  app.post('/v1/authorize', {
    schema: {
      tags: ['hosted flow'],
      summary: 'Push a sign-in (or step-up) request for the user of this primary token; send the browser to `url`',
      description: [
        'From the application\'s backend, with the user\'s primary token (`azp` must be `clientId`) and, for a confidential client, its secret.',
        'The handle is single use and lives 5 minutes. `redirectUri` must be registered exactly (400 INVALID_REDIRECT_URI); an unknown client or a wrong secret is 401 INVALID_CLIENT.',
      ].join('\n'),
      security: [{ bearer: [] }],
      body: AuthorizeBody,
      response: { 200: AuthorizeAnswer, ...errorResponses },
    },
    // A primary token only: a hosted session never pushes requests.
    onRequest: async (req) => { req.principal = await app.tokens.verifyPrimary(req) },
  }, async (req) => {
    if (req.principal === null) throw fail('INTERNAL', 'internal error')
    const base = opts.publicUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.host}`
    return app.authorize.push(req.principal, req.body, base)
  })

  app.post('/v1/authorize/session', {
    schema: {
      tags: ['hosted flow'],
      summary: 'The hosted page spends its handle: the hosted session is set as a cookie',
      description: 'An unknown, used or expired handle is 400 INVALID_REQUEST_URI (the page cannot know where to send the user back, so it says so itself).',
      security: [],
      body: SessionBody,
      response: { 200: SessionAnswer, ...errorResponses },
    },
  }, async (req, reply) => {
    const { sessionId, session } = await app.authorize.openSession(req.body.requestUri)
    setHostCookie(reply, SESSION_COOKIE, sessionId, opts.sessionTtlSec)
    return { clientName: session.clientName, accountName: session.accountName, purpose: session.purpose, ...(session.action === undefined ? {} : { action: session.action }), expiresAt: session.expiresAt }
  })

  app.post('/v1/authorize/complete', {
    schema: {
      tags: ['hosted flow'],
      summary: 'After the second step: the redirect to the application, with a code (60 s, single use) and the state',
      description: 'Needs the hosted-session cookie; 409 CONFLICT before the second step is done.',
      security: [],
      body: CompleteBody,
      response: { 200: RedirectAnswer, ...errorResponses },
    },
    preValidation: async (req) => { req.body ??= {} },
  }, async (req, reply) => {
    const answer = await app.authorize.complete(await hostedSessionOf(req))
    setHostCookie(reply, SESSION_COOKIE, '', 0)
    return answer
  })

  app.post('/v1/authorize/cancel', {
    schema: {
      tags: ['hosted flow'],
      summary: 'Cancel (or an error the page cannot recover from): the redirect to the application with the error and the state',
      security: [],
      body: CancelBody,
      response: { 200: RedirectAnswer, ...errorResponses },
    },
    preValidation: async (req) => { req.body ??= {} },
  }, async (req, reply) => {
    const answer = await app.authorize.cancel(await hostedSessionOf(req), req.body.error ?? 'access_denied')
    setHostCookie(reply, SESSION_COOKIE, '', 0)
    return answer
  })

  app.post('/v1/token', {
    schema: {
      tags: ['hosted flow'],
      summary: 'Exchange a code for the MFA token (from the application\'s backend)',
      description: [
        'A confidential client sends its secret; a public client none (PKCE binds its code).',
        'Unknown client or wrong secret: 401 INVALID_CLIENT. Unknown, expired or used code, another client\'s code, another redirect URI, a wrong codeVerifier: 400 INVALID_GRANT.',
        'A code used twice also revokes the token issued from it (RFC 6749 §4.1.2).',
      ].join('\n'),
      security: [],
      body: TokenBody,
      response: { 200: TokenAnswer, ...errorResponses },
    },
  }, async (req) => app.authorize.exchange(req.body))
}

export default authorizeRoutes
