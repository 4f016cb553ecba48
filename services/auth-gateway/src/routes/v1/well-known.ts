import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Type } from 'typebox'
import { JwksAnswer } from '../../schemas.js'

const wellKnownRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['keys'],
      summary: 'Public keys that verify MFA tokens (ES256; match the token header kid)',
      security: [],
      response: { 200: JwksAnswer },
    },
  }, async (_req, reply) => {
    void reply.header('cache-control', 'public, max-age=300')
    return await app.tokens.jwks() as JwksAnswer
  })
}

type JwksAnswer = Type.Static<typeof JwksAnswer>

export default wellKnownRoutes
