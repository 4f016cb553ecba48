import { timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Outbox, type DemoOutbox } from '../../adapters/demo-outbox.js'
import { fail } from '../../errors.js'
import { DemoLoginAnswer, DemoLoginBody, errorResponses } from '../../schemas.js'

const PASSWORD = Buffer.from('demo')

function isDemoPassword (password: string): boolean {
  const given = Buffer.from(password, 'utf8')
  // Constant time for equal lengths; the length of "demo" is no secret.
  return given.length === PASSWORD.length && timingSafeEqual(given, PASSWORD)
}

/** The demo identity provider (DEMO_MODE only): any username, password `demo`; and the demo inbox. */
const demoRoutes: FastifyPluginAsyncTypebox<{ outbox: DemoOutbox }> = async (app, { outbox }) => {
  app.get('/v1/demo/outbox', {
    schema: {
      tags: ['demo'],
      summary: 'Demo inbox: what the fake SMS provider was asked to send, and the notifier\'s user notifications and webhook deliveries; newest first, at most 50 (DEMO_MODE only)',
      description: 'So a person (or a test) can finish every flow without a phone. It shows codes and "Not you?" links: it exists only in demo mode (404 otherwise).',
      security: [],
      response: { 200: Outbox, ...errorResponses },
    },
  }, async () => outbox.list())

  app.post('/v1/demo/login', {
    schema: {
      tags: ['demo'],
      summary: 'Demo IdP: a primary token for any username with password "demo" (DEMO_MODE only)',
      security: [],
      body: DemoLoginBody,
      response: { 200: DemoLoginAnswer, ...errorResponses },
    },
  }, async (req) => {
    const { username, password, clientId } = req.body
    if (!isDemoPassword(password)) throw fail('UNAUTHENTICATED', 'invalid username or password')
    const token = await app.tokens.signDemoPrimary({
      sub: username,
      clientId: clientId ?? 'demo-app',
      ...(username === 'admin' ? { role: 'warden:admin' } : {}),
    })
    return { token }
  })
}

export default demoRoutes
