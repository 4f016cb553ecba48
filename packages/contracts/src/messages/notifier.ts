import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { Timestamp, UserId } from './common.js'
import { EventContext } from './events.js'

// The notifier's verbs (issue 14): the gateway asks it for the activity feed, the audit query,
// webhook administration and "Not you?" reports. Subjects warden.notifier.v1.<verb>.

/** The notifier's NATS micro service name. */
export const NOTIFIER_SERVICE = 'notifier'

/**
 * Demo mode only: the Redis list (newest first, at most 50) where the notifier shows webhook
 * deliveries and user notifications, and from which the gateway's GET /v1/demo/outbox reads them.
 */
export const NOTIFIER_DEMO_OUTBOX_KEY = 'notifier:demo-outbox'

const EventIdString = Type.String({ pattern: '^evt_[A-Za-z0-9_-]{16,64}$' })

/** A short event type, `factor.removed` for `warden.events.v1.factor.removed`. */
export const EventTypeName = Type.String({ pattern: '^[a-z]{1,30}\\.[a-z]{1,30}$', description: 'Short event type, e.g. factor.removed' })

/** An opaque page position answered by the previous page. */
export const ActivityCursor = Type.String({ pattern: '^[A-Za-z0-9_-]{1,300}$', description: 'nextCursor of the previous page' })

export const ActivityQuery = Type.Object({
  userId: UserId,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: '20 by default' })),
  cursor: Type.Optional(ActivityCursor),
  types: Type.Optional(Type.Array(EventTypeName, { minItems: 1, maxItems: 20, description: 'Only these types' })),
  since: Type.Optional(Timestamp),
  until: Type.Optional(Timestamp),
}, { additionalProperties: false })
export type ActivityQuery = Type.Static<typeof ActivityQuery>

/** What an event says beyond who and when. Never a secret. */
export const EventDetails = Type.Object({
  factor: Type.Optional(Type.String({ maxLength: 20 })),
  itemId: Type.Optional(Type.String({ maxLength: 1100 })),
  kind: Type.Optional(Type.String({ maxLength: 20, description: 'emergencycode.used: emergency or support' })),
  reason: Type.Optional(Type.String({ maxLength: 40 })),
  mode: Type.Optional(Type.String({ maxLength: 20 })),
  lockedUntil: Type.Optional(Timestamp),
  deviceId: Type.Optional(Type.String({ maxLength: 100 })),
  notMe: Type.Optional(Type.Boolean()),
  reportedEventId: Type.Optional(EventIdString),
}, { additionalProperties: false })

export const ActivityEntry = Type.Object({
  eventId: EventIdString,
  type: EventTypeName,
  occurredAt: Timestamp,
  details: EventDetails,
  context: EventContext,
}, { additionalProperties: false })
export type ActivityEntry = Type.Static<typeof ActivityEntry>

export const ActivityPage = Type.Object({
  events: Type.Array(ActivityEntry, { maxItems: 100 }),
  nextCursor: Type.Optional(ActivityCursor),
}, { additionalProperties: false })
export type ActivityPage = Type.Static<typeof ActivityPage>

export const listActivity = defineEndpoint({
  subject: 'warden.notifier.v1.activity',
  summary: "The user's own security activity, newest first (never audit-only events)",
  request: ActivityQuery,
  response: ActivityPage,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

export const listUserEvents = defineEndpoint({
  subject: 'warden.notifier.v1.audit',
  summary: 'Every event of a user, for support (admin only: the gateway checks the role)',
  request: ActivityQuery,
  response: ActivityPage,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

export const WebhookId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Chosen by the admin' })

export const WebhookDefinition = Type.Object({
  url: Type.String({ minLength: 8, maxLength: 2000, description: 'https (http and loopback only in demo mode)' }),
  events: Type.Array(Type.Union([EventTypeName, Type.Literal('*')]), { minItems: 1, maxItems: 30, description: 'Event types, or * for all' }),
  enabled: Type.Boolean(),
  rotateSecret: Type.Optional(Type.Boolean({ description: 'Issue a new signing secret; the previous one keeps signing during the overlap' })),
}, { additionalProperties: false })

export const PutWebhookRequest = Type.Object({ id: WebhookId, ...WebhookDefinition.properties }, { additionalProperties: false })
export type PutWebhookRequest = Type.Static<typeof PutWebhookRequest>

export const DeliveryFailure = Type.Object({
  eventId: EventIdString,
  userId: UserId,
  type: EventTypeName,
  attempts: Type.Integer({ minimum: 1 }),
  enqueuedAt: Timestamp,
  failedAt: Timestamp,
  lastError: Type.String({ maxLength: 200 }),
}, { additionalProperties: false })

export const WebhookView = Type.Object({
  id: WebhookId,
  url: Type.String({ maxLength: 2000 }),
  events: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 30 }),
  enabled: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  previousSecretRetiresAt: Type.Optional(Timestamp),
  recentFailures: Type.Optional(Type.Array(DeliveryFailure, { maxItems: 100 })),
}, { additionalProperties: false })
export type WebhookView = Type.Static<typeof WebhookView>

export const PutWebhookResponse = Type.Object({
  webhook: WebhookView,
  created: Type.Boolean(),
  secret: Type.Optional(Type.String({ pattern: '^whsec_[A-Za-z0-9+/=]{20,100}$', description: 'Shown once: on create and on rotation' })),
}, { additionalProperties: false })

export const putWebhook = defineEndpoint({
  subject: 'warden.notifier.v1.putWebhook',
  summary: 'Creates or replaces a webhook; answers its signing secret once',
  request: PutWebhookRequest,
  response: PutWebhookResponse,
  errors: ['BAD_REQUEST', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL'],
})

export const WebhookRef = Type.Object({ id: WebhookId }, { additionalProperties: false })

export const getWebhook = defineEndpoint({
  subject: 'warden.notifier.v1.getWebhook',
  summary: 'A webhook (never its secret) and its recent failed deliveries',
  request: WebhookRef,
  response: WebhookView,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'UNAVAILABLE', 'INTERNAL'],
})

export const deleteWebhook = defineEndpoint({
  subject: 'warden.notifier.v1.deleteWebhook',
  summary: 'Removes a webhook and drops its queued deliveries',
  request: WebhookRef,
  response: Type.Object({ deleted: Type.Boolean() }, { additionalProperties: false }),
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

export const ReportToken = Type.String({ minLength: 10, maxLength: 1024, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$', description: 'The fragment of a "Not you?" link' })

export const reportNotMe = defineEndpoint({
  subject: 'warden.notifier.v1.reportNotMe',
  summary: '"Not you?": locks the user\'s second factor and files a report for support',
  request: Type.Object({ token: ReportToken }, { additionalProperties: false }),
  response: Type.Object({ result: Type.Literal('reported'), reportedEventId: EventIdString, userId: UserId }, { additionalProperties: false, description: 'The gateway locks this user\'s second factor' }),
  errors: ['BAD_REQUEST', 'FLOW_EXPIRED', 'UNAVAILABLE', 'INTERNAL'],
})

export const NOTIFIER_ENDPOINTS = [listActivity, listUserEvents, putWebhook, getWebhook, deleteWebhook, reportNotMe] as const
