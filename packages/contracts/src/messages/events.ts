import { Type } from 'typebox'
import { defineEvent } from '../endpoint.js'
import { FactorName } from '../factors/index.js'
import { EventEnvelope, Timestamp } from './common.js'

/** The JetStream stream every service publishes security events to. */
export const EVENTS_STREAM = 'WARDEN_EVENTS'
export const EVENTS_SUBJECTS = 'warden.events.v1.>'

const envelope = EventEnvelope

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
