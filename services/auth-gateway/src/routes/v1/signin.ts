import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../../plugins/auth.js'
import {
  errorResponses, SigninBody, SigninStart, SigninView, TransactionParams, VerifyAnswer, VerifyBody,
} from '../../schemas.js'
import type { SigninService } from '../../signin.js'

const bearer = [{ bearer: [] }]

/** Sign-in after the password step. The transaction belongs to the primary token's `sub`. */
const signinRoutes: FastifyPluginAsyncTypebox<{ signin: SigninService }> = async (app, { signin }) => {
  app.addHook('onRequest', app.authenticate)

  app.post('/v1/signin', {
    schema: {
      tags: ['signin'],
      summary: 'Start a sign-in transaction: challenge (with methods) or not_required (with a token)',
      description: 'Answers 503 UNAVAILABLE (Retry-After) when a factor service does not answer and no other shows a factor: it fails closed.',
      security: bearer,
      body: SigninBody,
      response: { 200: SigninStart, ...errorResponses },
    },
    // An empty body means "all defaults".
    preValidation: async (req) => { req.body ??= {} },
  }, async (req) => {
    const { purpose, action, context } = req.body
    return signin.start(principalOf(req), {
      ...(purpose === undefined ? {} : { purpose }),
      ...(action === undefined ? {} : { action }),
      ...(context === undefined ? {} : { context: { ...context } }),
    })
  })

  app.get('/v1/signin/:transactionId', {
    schema: {
      tags: ['signin'],
      summary: 'State and every method of a transaction; 404 if unknown or another user\'s, 410 FLOW_EXPIRED once expired',
      security: bearer,
      params: TransactionParams,
      response: { 200: SigninView, ...errorResponses },
    },
  }, async (req) => signin.get(principalOf(req), req.params.transactionId))

  app.post('/v1/signin/:transactionId/verify', {
    schema: {
      tags: ['signin'],
      summary: 'Verify a method: verified (with the MFA token; the transaction is consumed) or rejected (with reason)',
      description: 'A second verify after success is 409 CONFLICT. A locked factor is 429 FACTOR_LOCKED with Retry-After.',
      security: bearer,
      params: TransactionParams,
      body: VerifyBody,
      response: { 200: VerifyAnswer, ...errorResponses },
    },
  }, async (req) => signin.verify(principalOf(req), req.params.transactionId, req.body))
}

export default signinRoutes
