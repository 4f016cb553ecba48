import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { principalOf } from '../../plugins/auth.js'
import { bearer, bearerAndStepUp, errorResponses, MfaHeaders, RemoveAnswer, STEP_UP_NOTE } from '../../schema-parts.js'
import { DisableAnswer, EmptyBody, FactorsView, RememberedDeviceParams } from '../../schemas.js'
import type { FactorChanges } from '../../factor-changes.js'
import type { FactorChangeHooks } from '../../factors/strategy.js'
import type { SelfService, StepUpShown } from '../../self-service.js'

export interface SelfServiceHooks {
  /** preHandler of a change: an MFA token once the user has 2FA. */
  stepUp: (req: FastifyRequest) => Promise<void>
  /** preHandler of a route that adds a factor: an MFA token, or the enrollment token of enrollment_required / a permanent-loss recovery. */
  enrollStepUp: (req: FastifyRequest) => Promise<void>
  /** factor-changes.ts bound to the request: the user, and whether this is their first factor (what the preHandler was shown). */
  factorChanges: FactorChangeHooks
}

/**
 * The step-up rule as preHandlers, and the factor-change hook, for this file's routes and for each
 * factor's own /v1/me routes (RouteContext). Made once per app: the preHandler remembers what let
 * each request through, and the hook reads it back.
 */
export function selfServiceHooks (self: SelfService, changes: FactorChanges): SelfServiceHooks {
  const proofOf = (req: FastifyRequest): string | undefined => {
    const header = req.headers['x-mfa-token']
    return typeof header === 'string' ? header : undefined
  }
  const shownBy = new WeakMap<FastifyRequest, StepUpShown>()
  /** Only a fresh MFA token makes a binding "not the first factor"; unknown (no preHandler ran) revokes: the safe side. */
  const firstFactor = (req: FastifyRequest): boolean => shownBy.get(req) !== 'mfa'
  return {
    stepUp: async (req) => { shownBy.set(req, await self.requireStepUp(principalOf(req), proofOf(req))) },
    enrollStepUp: async (req) => { shownBy.set(req, await self.requireStepUp(principalOf(req), proofOf(req), 'mfa-or-enrollment')) },
    factorChanges: {
      bind: async (req, factor, confirm, isBound) => changes.bind({ userId: principalOf(req).sub, factor, firstFactor: firstFactor(req) }, confirm, isBound),
      remove: async (req, factor, remove) => changes.remove({ userId: principalOf(req).sub, factor }, remove),
    },
  }
}

/**
 * The user's own 2FA, across factors. POST and DELETE go through the step-up rule (SECURITY
 * §1.11). Each factor's own routes (/v1/me/<factor>/...) come from its strategy (app.ts mounts them).
 */
const meRoutes: FastifyPluginAsyncTypebox<{ self: SelfService, hooks: SelfServiceHooks }> = async (app, { self, hooks }) => {
  app.addHook('onRequest', app.authenticate)
  const { stepUp } = hooks

  app.get('/v1/me/factors', {
    schema: {
      tags: ['me'],
      summary: 'Every factor of the user, and their remembered devices; a factor service that does not answer in time is listed with available: false',
      security: bearer,
      response: { 200: FactorsView, ...errorResponses },
    },
  }, async (req) => self.listFactors(principalOf(req)))

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
