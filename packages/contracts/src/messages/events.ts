import { Type } from 'typebox'
import { defineEvent } from '../endpoint.js'
import { FactorName } from '../factors/index.js'
import { EventEnvelope, Timestamp } from './common.js'

/** The JetStream stream every service publishes security events to. */
export const EVENTS_STREAM = 'WARDEN_EVENTS'
export const EVENTS_SUBJECTS = 'warden.events.v1.>'

/**
 * Where the action came from, when the publisher knows it: the activity feed shows it. Never a
 * secret: the application, the client IP and the user agent only.
 */
export const EventContext = Type.Object({
  clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$', description: 'The application (azp)' })),
  ip: Type.Optional(Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$', description: 'Client IP address' })),
  userAgent: Type.Optional(Type.String({ maxLength: 512, description: 'Client user agent, as sent' })),
}, { additionalProperties: false })
export type EventContext = Type.Static<typeof EventContext>

const envelope = { ...EventEnvelope, context: Type.Optional(EventContext) }

export const factorEnrolled = defineEvent({
  subject: 'warden.events.v1.factor.enrolled',
  summary: 'A factor became active for a user',
  payload: Type.Object({ ...envelope, factor: FactorName, itemId: Type.Optional(Type.String({ maxLength: 1100 })) }, { additionalProperties: false }),
})

export const factorRemoved = defineEvent({
  subject: 'warden.events.v1.factor.removed',
  summary: 'A factor was removed by its user or an admin',
  payload: Type.Object({ ...envelope, factor: FactorName, itemId: Type.Optional(Type.String({ maxLength: 1100 })) }, { additionalProperties: false }),
})

export const factorLocked = defineEvent({
  subject: 'warden.events.v1.factor.locked',
  summary: 'Too many failed attempts locked one factor of a user for a while',
  payload: Type.Object({ ...envelope, factor: FactorName, lockedUntil: Timestamp }, { additionalProperties: false }),
})

export const userReset = defineEvent({
  subject: 'warden.events.v1.user.reset',
  summary: "A user's 2FA was reset: every factor service deletes that user's data; MFA tokens issued at or before validAfter are revoked",
  payload: Type.Object({
    ...envelope,
    reason: Type.Union([Type.Literal('admin'), Type.Literal('recovery'), Type.Literal('disabled')]),
    // The user's tokens issued at or before this instant (the token's `iat_ms`, else `iat`) are
    // revoked: resource servers refuse them (packages/step-up: `validAfter`).
    validAfter: Type.Optional(Timestamp),
  }, { additionalProperties: false }),
})

// Issue 14 (notifications and audit): what the activity feed, the audit query and webhooks show
// beyond the factor events above. The notifier consumes every event on the stream.

export const recoveryUsed = defineEvent({
  subject: 'warden.events.v1.recovery.used',
  summary: 'An emergency code (or a support code) was spent to sign in',
  payload: Type.Object({
    ...envelope,
    mode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent'), Type.Literal('support')], { description: 'temporary: this sign-in only; permanent: 2FA reset; support: an admin-issued code' }),
  }, { additionalProperties: false }),
})

export const recoveryRegenerated = defineEvent({
  subject: 'warden.events.v1.recovery.regenerated',
  summary: 'A new emergency code replaced the previous one',
  payload: Type.Object({ ...envelope }, { additionalProperties: false }),
})

export const deviceRemembered = defineEvent({
  subject: 'warden.events.v1.device.remembered',
  summary: 'A browser was remembered: it may skip the second factor for a while',
  payload: Type.Object({ ...envelope, deviceId: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
})

export const pushDenied = defineEvent({
  subject: 'warden.events.v1.push.denied',
  summary: 'A push sign-in request was denied on the paired device',
  payload: Type.Object({
    ...envelope,
    deviceId: Type.Optional(Type.String({ maxLength: 100 })),
    notMe: Type.Boolean({ description: 'The user said the request was not theirs' }),
  }, { additionalProperties: false }),
})

export const networkSeen = defineEvent({
  subject: 'warden.events.v1.network.seen',
  summary: 'A sign-in came from a network this user had not used before',
  payload: Type.Object({ ...envelope }, { additionalProperties: false }),
})

export const verificationRejected = defineEvent({
  subject: 'warden.events.v1.verification.rejected',
  summary: 'A second-factor answer was rejected (for the audit trail, not the user feed)',
  payload: Type.Object({
    ...envelope,
    factor: FactorName,
    reason: Type.String({ pattern: '^[a-z_]{1,40}$', description: "The factor's rejection reason, e.g. invalid_code, replayed" }),
  }, { additionalProperties: false }),
})

export const userReported = defineEvent({
  subject: 'warden.events.v1.user.reported',
  summary: 'The user followed a "Not you?" link: their second factor was locked and support told',
  payload: Type.Object({
    ...envelope,
    reportedEventId: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{16,64}$', description: 'The event the user says was not them' }),
  }, { additionalProperties: false }),
})
