import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { isAdmin } from '../../admin.js'
import type { ApplicationsService } from '../../applications.js'
import { fail } from '../../errors.js'
import { principalOf } from '../../plugins/auth.js'
import { adminErrorResponses, ClientIdParams } from '../../schemas-admin.js'
import { ApplicationBody, ApplicationView, RemovedAnswer } from '../../schemas-authorize.js'

const bearer = [{ bearer: [] }]
const ADMIN_NOTE = 'Needs a primary token whose `role` claim is `warden:admin` (401 without a valid token, 403 FORBIDDEN without the role).'

/**
 * Registered applications (issue 13): one record per clientId, which also holds the policy that
 * /v1/admin/policies reads and writes. As the other admin routes: both checks in onRequest.
 */
const applicationRoutes: FastifyPluginAsyncTypebox<{ applications: ApplicationsService }> = async (app, { applications }) => {
  app.addHook('onRequest', app.authenticate)
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (!isAdmin(principalOf(req))) throw fail('FORBIDDEN', 'this route needs the warden:admin role')
  })

  app.get('/v1/admin/applications/:clientId', {
    schema: {
      tags: ['admin'],
      summary: 'A registered application (its secret hash is never answered); 404 when none is registered',
      description: ADMIN_NOTE,
      security: bearer,
      params: ClientIdParams,
      response: { 200: ApplicationView, ...adminErrorResponses },
    },
  }, async (req) => applications.get(req.params.clientId))

  app.put('/v1/admin/applications/:clientId', {
    schema: {
      tags: ['admin'],
      summary: 'Register (replace) an application: name, exact redirect URIs, secret hash or publicClient, and optionally its policy',
      description: `${ADMIN_NOTE} Redirect URIs are https only (http://localhost and 127.0.0.1 in demo mode), compared character for character: 400 INVALID_REDIRECT_URI otherwise. Malformed input is 400 and changes nothing.`,
      security: bearer,
      params: ClientIdParams,
      body: ApplicationBody,
      response: { 200: ApplicationView, ...adminErrorResponses },
    },
  }, async (req) => applications.put(principalOf(req), req.params.clientId, req.body))

  app.delete('/v1/admin/applications/:clientId', {
    schema: {
      tags: ['admin'],
      summary: 'Remove an application and its policy (its users then get the default policy)',
      description: ADMIN_NOTE,
      security: bearer,
      params: ClientIdParams,
      response: { 200: RemovedAnswer, ...adminErrorResponses },
    },
  }, async (req) => applications.delete(principalOf(req), req.params.clientId))
}

export default applicationRoutes
