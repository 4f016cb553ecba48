import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { principalOf } from '../../plugins/auth.js'
import {
  ConfirmAnswer, ConfirmBody, EnrollAnswer, errorResponses, FactorsView, MfaHeaders, RemoveAnswer,
} from '../../schemas.js'
import type { SelfService } from '../../self-service.js'

const bearer = [{ bearer: [] }]
/** Primary token, plus an MFA token once the user has 2FA. */
const bearerAndStepUp = [{ bearer: [], mfaToken: [] }, { bearer: [] }]
const STEP_UP_NOTE = 'Once the user has 2FA this needs an MFA token no older than 10 minutes, for the same user and application, in X-MFA-Token; else 403 STEP_UP_REQUIRED.'

/** The user's own factors. POST and DELETE go through the step-up rule (SECURITY §1.11). */
const meRoutes: FastifyPluginAsyncTypebox<{ self: SelfService }> = async (app, { self }) => {
  app.addHook('onRequest', app.authenticate)

  const stepUp = async (req: FastifyRequest): Promise<void> => {
    const header = req.headers['x-mfa-token']
    await self.requireStepUp(principalOf(req), typeof header === 'string' ? header : undefined)
  }

  app.get('/v1/me/factors', {
    schema: {
      tags: ['me'],
      summary: 'Every factor of the user; a factor service that does not answer in time is listed with available: false',
      security: bearer,
      response: { 200: FactorsView, ...errorResponses },
    },
  }, async (req) => self.listFactors(principalOf(req)))

  app.post('/v1/me/totp', {
    schema: {
      tags: ['me'],
      summary: 'Start an authenticator-app enrollment (active only once confirmed)',
      description: `No body. ${STEP_UP_NOTE}`,
      security: bearerAndStepUp,
      headers: MfaHeaders,
      response: { 200: EnrollAnswer, ...errorResponses },
    },
    preHandler: stepUp,
  }, async (req) => self.enrollTotp(principalOf(req)))

  app.post('/v1/me/totp/confirm', {
    schema: {
      tags: ['me'],
      summary: 'Confirm the enrollment with a code from the app; a wrong code is 200 with status rejected',
      description: STEP_UP_NOTE,
      security: bearerAndStepUp,
      headers: MfaHeaders,
      body: ConfirmBody,
      response: { 200: ConfirmAnswer, ...errorResponses },
    },
    preHandler: stepUp,
  }, async (req) => self.confirmTotp(principalOf(req), req.body))

  app.delete('/v1/me/totp', {
    schema: {
      tags: ['me'],
      summary: 'Remove the authenticator app (and any pending enrollment)',
      description: STEP_UP_NOTE,
      security: bearerAndStepUp,
      headers: MfaHeaders,
      response: { 200: RemoveAnswer, ...errorResponses },
    },
    preHandler: stepUp,
  }, async (req) => self.removeTotp(principalOf(req)))
}

export default meRoutes
