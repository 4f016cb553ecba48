import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { isAdmin, type AdminService } from '../../admin.js'
import { fail } from '../../errors.js'
import { principalOf } from '../../plugins/auth.js'
import {
  AdminUserFactors, adminErrorResponses, ClientIdParams, PolicyBody, PolicyView, ResetAnswer, ResetBody, SubParams,
} from '../../schemas-admin.js'

const bearer = [{ bearer: [] }]
const ADMIN_NOTE = 'Needs a primary token whose `role` claim is `warden:admin` (401 without a valid token, 403 FORBIDDEN without the role).'

/**
 * Administration (ARCHITECTURE §3, Admin). Both checks run in onRequest, before the body is
 * parsed: callers without the role learn nothing about the schemas.
 */
/** onRequest, after authenticate: the warden:admin role (also for each factor's admin routes, app.ts). */
export async function requireAdmin (req: FastifyRequest): Promise<void> {
  if (!isAdmin(principalOf(req))) throw fail('FORBIDDEN', 'this route needs the warden:admin role')
}

const adminRoutes: FastifyPluginAsyncTypebox<{ admin: AdminService }> = async (app, { admin }) => {
  app.addHook('onRequest', app.authenticate)
  app.addHook('onRequest', requireAdmin)

  app.get('/v1/admin/policies/:clientId', {
    schema: {
      tags: ['admin'],
      summary: 'The effective 2FA policy of an application (isDefault: true when none is stored)',
      description: ADMIN_NOTE,
      security: bearer,
      params: ClientIdParams,
      response: { 200: PolicyView, ...adminErrorResponses },
    },
  }, async (req) => admin.getPolicy(req.params.clientId))

  app.put('/v1/admin/policies/:clientId', {
    schema: {
      tags: ['admin'],
      summary: 'Set (replace) the 2FA policy of an application; answers the stored policy',
      description: `${ADMIN_NOTE} Malformed input is 400 BAD_REQUEST and leaves the stored policy as it was.`,
      security: bearer,
      params: ClientIdParams,
      body: PolicyBody,
      response: { 200: PolicyView, ...adminErrorResponses },
    },
  }, async (req) => admin.putPolicy(principalOf(req), req.params.clientId, req.body))

  app.get('/v1/admin/users/:sub/factors', {
    schema: {
      tags: ['admin'],
      summary: 'Every factor of a user (as GET /v1/me/factors) and their remembered devices',
      description: `${ADMIN_NOTE} A factor service that does not answer in time is listed with available: false.`,
      security: bearer,
      params: SubParams,
      response: { 200: AdminUserFactors, ...adminErrorResponses },
    },
  }, async (req) => admin.userFactors(principalOf(req), req.params.sub))

  app.post('/v1/admin/users/:sub/reset', {
    schema: {
      tags: ['admin'],
      summary: 'Reset a user\'s 2FA: revoke remembered devices, forget risk signals, publish user.reset (every factor service deletes the user\'s data)',
      description: `${ADMIN_NOTE} No body. 202: the factor services act when they consume the event (a service that is down catches up when it returns). Attempt counters of the factors are not reset by the gateway.`,
      security: bearer,
      params: SubParams,
      body: ResetBody,
      response: { 202: ResetAnswer, ...adminErrorResponses },
    },
    // No body means an empty one; anything else must be `{}`.
    preValidation: async (req) => { req.body ??= {} },
  }, async (req, reply) => {
    const answer = await admin.resetUser(principalOf(req), req.params.sub)
    return reply.code(202).send(answer)
  })
}

export default adminRoutes
