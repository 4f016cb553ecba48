import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { principalOf } from '../../plugins/auth.js'
import {
  ConfirmAnswer, ConfirmBody, DisableAnswer, EmptyBody, EnrollAnswer, errorResponses, FactorsView, MfaHeaders, RememberedDeviceParams, RemoveAnswer,
} from '../../schemas.js'
import type { SelfService, StepUpShown } from '../../self-service.js'

declare module 'fastify' {
  /** What let the change through (set by the step-up preHandler of the /v1/me routes). */
  interface FastifyRequest { stepUpShown: StepUpShown | null }
}

const bearer = [{ bearer: [] }]
/** Primary token, plus an MFA token once the user has 2FA. */
const bearerAndStepUp = [{ bearer: [], mfaToken: [] }, { bearer: [] }]
const STEP_UP_NOTE = 'Once the user has 2FA this needs an MFA token (acr aal2) no older than the application\'s stepUpMaxAgeSec (default 10 minutes), for the same user and application, issued after the user\'s last reset, disable or first factor, in X-MFA-Token; else 403 STEP_UP_REQUIRED.'
const ENROLL_NOTE = 'An enrollment token (from enrollment_required, or a permanent-loss recovery) also does here, until the user\'s first factor is confirmed: it adds that factor, and nothing else.'

/** The user's own factors. POST and DELETE go through the step-up rule (SECURITY §1.11). */
const meRoutes: FastifyPluginAsyncTypebox<{ self: SelfService }> = async (app, { self }) => {
  app.addHook('onRequest', app.authenticate)
  app.decorateRequest('stepUpShown', null)

  const proofOf = (req: FastifyRequest): string | undefined => {
    const header = req.headers['x-mfa-token']
    return typeof header === 'string' ? header : undefined
  }
  /** Changes: an MFA token once the user has 2FA. */
  const stepUp = async (req: FastifyRequest): Promise<void> => { await self.requireStepUp(principalOf(req), proofOf(req)) }
  /** Adding a factor: an MFA token, or the enrollment token of enrollment_required / a permanent-loss recovery. */
  const enrollStepUp = async (req: FastifyRequest): Promise<void> => { req.stepUpShown = await self.requireStepUp(principalOf(req), proofOf(req), 'mfa-or-enrollment') }

  app.get('/v1/me/factors', {
    schema: {
      tags: ['me'],
      summary: 'Every factor of the user, and their remembered devices; a factor service that does not answer in time is listed with available: false',
      security: bearer,
      response: { 200: FactorsView, ...errorResponses },
    },
  }, async (req) => self.listFactors(principalOf(req)))

  app.post('/v1/me/totp', {
    schema: {
      tags: ['me'],
      summary: 'Start an authenticator-app enrollment (active only once confirmed)',
      description: `No body. ${STEP_UP_NOTE} ${ENROLL_NOTE}`,
      security: bearerAndStepUp,
      headers: MfaHeaders,
      response: { 200: EnrollAnswer, ...errorResponses },
    },
    preHandler: enrollStepUp,
  }, async (req) => self.enrollTotp(principalOf(req)))

  app.post('/v1/me/totp/confirm', {
    schema: {
      tags: ['me'],
      summary: 'Confirm the enrollment with a code from the app; a wrong code is 200 with status rejected',
      description: `${STEP_UP_NOTE} ${ENROLL_NOTE}`,
      security: bearerAndStepUp,
      headers: MfaHeaders,
      body: ConfirmBody,
      response: { 200: ConfirmAnswer, ...errorResponses },
    },
    preHandler: enrollStepUp,
  }, async (req) => self.confirmTotp(principalOf(req), req.body, req.stepUpShown ?? 'none')) // unknown: a first factor (revoking too much is the safe side)

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

  app.delete('/v1/me/remembered-devices/:id', {
    schema: {
      tags: ['me'],
      summary: 'Forget one remembered device: its token no longer skips 2FA',
      description: STEP_UP_NOTE,
      security: bearerAndStepUp,
      headers: MfaHeaders,
      params: RememberedDeviceParams,
      response: { 200: RemoveAnswer, ...errorResponses },
    },
    preHandler: stepUp,
  }, async (req) => self.revokeRememberedDevice(principalOf(req), req.params.id))

  app.post('/v1/me/disable', {
    schema: {
      tags: ['me'],
      summary: 'Turn 2FA off: every factor and remembered device of the user is removed (user.reset)',
      description: `No body (or {}). ${STEP_UP_NOTE} An application whose policy is required will then answer enrollment_required.`,
      security: bearerAndStepUp,
      headers: MfaHeaders,
      body: EmptyBody,
      response: { 200: DisableAnswer, ...errorResponses },
    },
    preValidation: async (req) => { req.body ??= {} },
    preHandler: stepUp,
  }, async (req) => self.disable(principalOf(req)))
}

export default meRoutes
