import { activityDetailsExample } from '../../factors/examples.js'
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import {
  ActivityPage, deleteWebhook, getWebhook, listActivity, listUserEvents, PutWebhookResponse, putWebhook, ReportToken, reportNotMe,
  Timestamp, WebhookDefinition, WebhookId, WebhookView, type ActivityQuery, type AnyEndpoint, type RequestOf, type ResponseOf,
} from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { Type } from 'typebox'
import { isAdmin } from '../../admin.js'
import { fail } from '../../errors.js'
import { principalOf } from '../../plugins/auth.js'
import { bearer, errorResponses } from '../../schema-parts.js'
import { SubParams } from '../../schemas-admin.js'

// Issue 14: the security activity feed, the audit query for support, webhook administration and
// the "Not you?" report. The notifier service owns the data and the decisions; these routes
// check who may ask, and carry the question over the bus.

const ActivityQueryString = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Page size, 20 by default' })),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,300}$', description: 'nextCursor of the previous page' })),
  types: Type.Optional(Type.String({ pattern: '^[a-z]{1,30}\\.[a-z]{1,30}(,[a-z]{1,30}\\.[a-z]{1,30}){0,19}$', description: 'Comma-separated event types, e.g. factor.enrolled,factor.removed' })),
  since: Type.Optional(Timestamp),
  until: Type.Optional(Timestamp),
}, { additionalProperties: false })
type ActivityQueryString = Type.Static<typeof ActivityQueryString>

// The contracts' schemas, with the examples the OpenAPI document shows.
const AT = '2026-11-23T09:40:00.000Z'
const EVENT_ID = 'evt_Q2hhbGxlbmdlSWRFeGFtcGxl'
const ENTRY = { eventId: EVENT_ID, type: 'factor.removed', occurredAt: AT, details: activityDetailsExample, context: { clientId: 'demo-app', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' } }
const VIEW = { id: 'siem', url: 'https://siem.example.com/warden', events: ['factor.removed', 'user.reset'], enabled: true, createdAt: AT, updatedAt: AT }
const ActivityPageAnswer = Type.Object(ActivityPage.properties, { additionalProperties: false, examples: [{ events: [ENTRY], nextCursor: 'WyIyMDI2LTExLTIzVDA5OjQwOjAwLjAwMFoiLCJldnRfUTJoaGJHeGxibWRsU1dSRmVHRnRjR3hsIl0' }] })
const WebhookBody = Type.Object(WebhookDefinition.properties, { additionalProperties: false, examples: [{ url: VIEW.url, events: VIEW.events, enabled: true }, { url: VIEW.url, events: ['*'], enabled: true, rotateSecret: true }] })
const WebhookAnswer = Type.Object(WebhookView.properties, { additionalProperties: false, examples: [{ ...VIEW, recentFailures: [{ eventId: EVENT_ID, userId: 'alice', type: 'factor.removed', attempts: 13, enqueuedAt: AT, failedAt: '2026-11-24T11:40:00.000Z', lastError: 'HTTP 503' }] }] })
const PutWebhookAnswer = Type.Object(PutWebhookResponse.properties, { additionalProperties: false, examples: [{ webhook: VIEW, created: true, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }] })
const WebhookParams = Type.Object({ id: WebhookId }, { additionalProperties: false })
const NotMeBody = Type.Object({ token: ReportToken }, { additionalProperties: false, examples: [{ token: 'eyJ1IjoiYWxpY2UiLCJlIjoiZXZ0X1EyaGhiR3hsYm1kbFNXUkZlR0Z0Y0d4bCIsIngiOjE3OTY4MDM4MTh9.bHERiWRfWmGk3etZPE1pV5T9SiStrArDc46952sB7ME' }] })
const NotMeAnswer = Type.Object({
  reported: Type.Literal(true),
  locked: Type.Literal(true, { description: 'No second factor is accepted for this account until support resets its 2FA' }),
}, { additionalProperties: false, examples: [{ reported: true, locked: true }] })
const DeletedAnswer = Type.Object({ deleted: Type.Boolean({ description: 'false when there was no such webhook' }) }, { additionalProperties: false, examples: [{ deleted: true }] })

const ADMIN_NOTE = 'Needs a primary token whose `role` claim is `warden:admin` (401 without a valid token, 403 FORBIDDEN without the role).'

function queryOf (userId: string, q: ActivityQueryString): ActivityQuery {
  return {
    userId,
    ...(q.limit === undefined ? {} : { limit: q.limit }),
    ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    ...(q.types === undefined ? {} : { types: q.types.split(',') }),
    ...(q.since === undefined ? {} : { since: q.since }),
    ...(q.until === undefined ? {} : { until: q.until }),
  }
}

const activityRoutes: FastifyPluginAsyncTypebox<{ timeoutMs: number }> = async (app, { timeoutMs }) => {
  // The notifier validates what a schema cannot (cursors it made, types it knows, webhook URLs):
  // its BAD_REQUEST is the client's, so it passes through as 400.
  const ask = <E extends AnyEndpoint>(endpoint: E, body: RequestOf<E>): Promise<ResponseOf<E>> => request(app.nats, endpoint, body, { timeoutMs })

  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>()
    scope.addHook('onRequest', app.authenticate)
    scope.get('/v1/me/activity', {
      schema: {
        tags: ['me'],
        summary: 'Recent security activity: factors added, removed or locked, emergency codes, resets, remembered devices, denied pushes, new networks; newest first',
        description: 'Each event has its time, the application, the IP and the user agent when known, never a secret. Page with `cursor` = the previous answer\'s `nextCursor`.',
        security: bearer,
        querystring: ActivityQueryString,
        response: { 200: ActivityPageAnswer, ...errorResponses },
      },
    }, async (req) => ask(listActivity, queryOf(principalOf(req).sub, req.query)))
  })

  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>()
    scope.addHook('onRequest', app.authenticate)
    scope.addHook('onRequest', async (req: FastifyRequest) => {
      if (!isAdmin(principalOf(req))) throw fail('FORBIDDEN', 'this route needs the warden:admin role')
    })

    scope.get('/v1/admin/users/:sub/events', {
      schema: {
        tags: ['admin'],
        summary: 'Every security event of a user, rejected verifications with their reasons included; newest first, paginated, filterable by type and time',
        description: ADMIN_NOTE,
        security: bearer,
        params: SubParams,
        querystring: ActivityQueryString,
        response: { 200: ActivityPageAnswer, ...errorResponses },
      },
    }, async (req) => {
      const answer = await ask(listUserEvents, queryOf(req.params.sub, req.query))
      req.log.info({ admin: principalOf(req).sub, userId: req.params.sub }, 'admin: user events read')
      return answer
    })

    scope.put('/v1/admin/webhooks/:id', {
      schema: {
        tags: ['admin'],
        summary: 'Create or replace a webhook (Standard Webhooks); the signing secret is answered once, on creation and on rotation',
        description: `${ADMIN_NOTE} 201 when created, 200 when replaced. URLs must be https in production; private, loopback and link-local addresses are refused (SSRF) unless allowed by the notifier's WEBHOOK_ALLOWED_NETWORKS.`,
        security: bearer,
        params: WebhookParams,
        body: WebhookBody,
        response: { 200: PutWebhookAnswer, 201: PutWebhookAnswer, ...errorResponses },
      },
    }, async (req, reply) => {
      const answer = await ask(putWebhook, { id: req.params.id, ...req.body })
      req.log.info({ admin: principalOf(req).sub, webhookId: req.params.id, created: answer.created, rotated: req.body.rotateSecret === true }, 'admin: webhook stored')
      return reply.code(answer.created ? 201 : 200).send(answer)
    })

    scope.get('/v1/admin/webhooks/:id', {
      schema: {
        tags: ['admin'],
        summary: 'A webhook (never its secret) and its recent failed deliveries',
        description: ADMIN_NOTE,
        security: bearer,
        params: WebhookParams,
        response: { 200: WebhookAnswer, ...errorResponses },
      },
    }, async (req) => ask(getWebhook, { id: req.params.id }))

    scope.delete('/v1/admin/webhooks/:id', {
      schema: {
        tags: ['admin'],
        summary: 'Delete a webhook; its queued deliveries are dropped',
        description: ADMIN_NOTE,
        security: bearer,
        params: WebhookParams,
        response: { 200: DeletedAnswer, ...errorResponses },
      },
    }, async (req) => {
      const answer = await ask(deleteWebhook, { id: req.params.id })
      req.log.info({ admin: principalOf(req).sub, webhookId: req.params.id, deleted: answer.deleted }, 'admin: webhook deleted')
      return answer
    })
  })

  app.post('/v1/not-me', {
    schema: {
      tags: ['me'],
      summary: '"Not you?": the token from a security notification\'s link locks the account\'s second factor and files a report for support',
      description: 'No bearer token: the signed, expiring link is the proof. The hosted page /ui/not-me asks the user before it posts the token (a GET never locks anything). 400 for a link that is not valid, 410 when it has expired.',
      security: [],
      body: NotMeBody,
      response: { 200: NotMeAnswer, ...errorResponses },
    },
  }, async (req) => {
    const report = await ask(reportNotMe, { token: req.body.token })
    await app.userLocks.lock(report.userId, { reportedEventId: report.reportedEventId, at: new Date().toISOString() })
    req.log.warn({ userId: report.userId, reportedEventId: report.reportedEventId }, 'not me: second factor locked')
    return { reported: true as const, locked: true as const }
  })
}

export default activityRoutes
