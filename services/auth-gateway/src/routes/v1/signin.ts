import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../../plugins/auth.js'
import { bearer } from '../../schema-parts.js'
import {
  ChallengeAnswer, ChallengeBody, errorResponses, SigninBody, SigninStart, SigninView, TransactionParams, VerifyAnswer, VerifyBody,
} from '../../schemas.js'
import type { SigninService } from '../../signin.js'


/**
 * Sign-in after the password step. The transaction belongs to the primary token's `sub`. A
 * method's own routes (push: the long-poll) come from its strategy (app.ts mounts them).
 */
const signinRoutes: FastifyPluginAsyncTypebox<{ signin: SigninService }> = async (app, { signin }) => {
  app.addHook('onRequest', app.authenticate)

  app.post('/v1/signin', {
    schema: {
      tags: ['signin'],
      summary: 'Start a sign-in (or a step-up): challenge, skipped, not_required or enrollment_required',
      description: [
        'The answer follows the application\'s policy (`azp` of the primary token) and the user\'s own 2FA:',
        '- `challenge`: a transaction with every method of the user and the default one;',
        '- `skipped`: a remembered device (`rememberToken`) under a policy that lets it skip; the token is rotated;',
        '- `not_required`: the user has no 2FA and the policy does not require it;',
        '- `enrollment_required`: the policy requires 2FA (or it is a step-up) and the user has none.',
        '',
        '`purpose: "step-up"` needs `action` and always asks for a factor: a remembered device never satisfies it, and its token is not spent.',
        'The adaptive policy judges `context.ip` when the client application sends it (it saw the user), else the IP of this request.',
        'Answers 503 UNAVAILABLE (Retry-After) when a factor service does not answer and no other shows a factor: it fails closed.',
      ].join('\n'),
      security: bearer,
      body: SigninBody,
      response: { 200: SigninStart, ...errorResponses },
    },
    // An empty body means "all defaults".
    preValidation: async (req) => { req.body ??= {} },
  }, async (req) => {
    const body = req.body
    const ua = req.headers['user-agent']
    return signin.start(principalOf(req), {
      purpose: body.purpose ?? 'signin',
      ...('action' in body ? { action: body.action } : {}),
      ...(body.rememberToken === undefined ? {} : { rememberToken: body.rememberToken }),
      ...(body.context === undefined ? {} : { context: { ...body.context } }),
      requestIp: req.ip,
      ...(typeof ua === 'string' ? { requestUserAgent: ua } : {}),
    })
  })

  app.get('/v1/signin/:transactionId', {
    schema: {
      tags: ['signin'],
      summary: '"Try another way": the state and every method of the user; 404 if unknown or another user\'s, 410 FLOW_EXPIRED once expired',
      description: 'Methods are asked afresh from every factor service in parallel (short deadline): one that does not answer is listed with `available: false`; a locked one carries `lockedUntil` and is not the default.',
      security: bearer,
      params: TransactionParams,
      response: { 200: SigninView, ...errorResponses },
    },
  }, async (req) => signin.get(principalOf(req), req.params.transactionId))

  app.post('/v1/signin/:transactionId/challenge', {
    schema: {
      tags: ['signin'],
      summary: 'Start a method: send the push or the SMS, get WebAuthn options; totp and recovery answer {}',
      description: 'The method becomes the transaction\'s active one. A method the user does not have is 409 NOT_ENROLLED; a completed transaction is 409 CONFLICT; an expired one 410 FLOW_EXPIRED.',
      security: bearer,
      params: TransactionParams,
      body: ChallengeBody,
      response: { 200: ChallengeAnswer, ...errorResponses },
    },
  }, async (req) => signin.challenge(principalOf(req), req.params.transactionId, req.body))

  app.post('/v1/signin/:transactionId/verify', {
    schema: {
      tags: ['signin'],
      summary: 'Verify a method: verified (with the MFA token; the transaction is consumed), rejected (with reason) or reset',
      description: 'totp and sms take `code`, webauthn the assertion in `response`, recovery `code` and `recoveryMode`. `rememberDevice: true` adds a `rememberToken` (never for a step-up). A second verify after success is 409 CONFLICT. A locked factor is 429 FACTOR_LOCKED with Retry-After; a method the user does not have is 409 NOT_ENROLLED.',
      security: bearer,
      params: TransactionParams,
      body: VerifyBody,
      response: { 200: VerifyAnswer, ...errorResponses },
    },
  }, async (req) => signin.verify(principalOf(req), req.params.transactionId, req.body, { peerIp: req.ip }))
}

export default signinRoutes
