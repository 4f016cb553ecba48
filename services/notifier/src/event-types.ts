import { defineEvent, EVENTS, FactorName, Timestamp, UserId, type EventType, type PayloadOf } from '@warden/contracts'
import { Type } from 'typebox'

// Phase 1: the events issue 14 needs that contracts does not have yet. They are defined with
// contracts' own defineEvent, so moving them to packages/contracts/src/messages/events.ts is a
// cut and paste; until then nothing publishes them but the tests.

const envelope = {
  eventId: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{16,64}$', description: 'Also the Nats-Msg-Id, for de-duplication' }),
  occurredAt: Timestamp,
  userId: UserId,
}

/**
 * Where the action came from, when the publisher knows it: shown in the activity feed. Never a
 * secret: the application, the client IP and the user agent only.
 */
export const EventContext = Type.Object({
  clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$', description: 'The application (azp)' })),
  ip: Type.Optional(Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$', description: 'Client IP address' })),
  userAgent: Type.Optional(Type.String({ maxLength: 512, description: 'Client user agent, as sent' })),
}, { additionalProperties: false })
export type EventContext = Type.Static<typeof EventContext>

const withContext = { context: Type.Optional(EventContext) }

export const recoveryUsed = defineEvent({
  subject: 'warden.events.v1.recovery.used',
  summary: 'An emergency code (or a support code) was spent to sign in',
  payload: Type.Object({
    ...envelope, ...withContext,
    mode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent'), Type.Literal('support')], { description: 'temporary: this sign-in only; permanent: 2FA reset; support: an admin-issued code' }),
  }, { additionalProperties: false }),
})

export const recoveryRegenerated = defineEvent({
  subject: 'warden.events.v1.recovery.regenerated',
  summary: 'A new emergency code replaced the previous one',
  payload: Type.Object({ ...envelope, ...withContext }, { additionalProperties: false }),
})

export const deviceRemembered = defineEvent({
  subject: 'warden.events.v1.device.remembered',
  summary: 'A browser was remembered: it may skip the second factor for a while',
  payload: Type.Object({ ...envelope, ...withContext, deviceId: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
})

export const pushDenied = defineEvent({
  subject: 'warden.events.v1.push.denied',
  summary: 'A push sign-in request was denied on the paired device',
  payload: Type.Object({
    ...envelope, ...withContext,
    deviceId: Type.Optional(Type.String({ maxLength: 100 })),
    notMe: Type.Boolean({ description: 'The user said the request was not theirs' }),
  }, { additionalProperties: false }),
})

export const networkSeen = defineEvent({
  subject: 'warden.events.v1.network.seen',
  summary: 'A sign-in came from a network this user had not used before',
  payload: Type.Object({ ...envelope, ...withContext }, { additionalProperties: false }),
})

export const verificationRejected = defineEvent({
  subject: 'warden.events.v1.verification.rejected',
  summary: 'A second-factor answer was rejected (for the audit trail, not the user feed)',
  payload: Type.Object({
    ...envelope, ...withContext,
    factor: FactorName,
    reason: Type.String({ pattern: '^[a-z_]{1,40}$', description: 'The factor\'s rejection reason, e.g. invalid_code, replayed' }),
  }, { additionalProperties: false }),
})

export const userReported = defineEvent({
  subject: 'warden.events.v1.user.reported',
  summary: 'The user followed a "Not you?" link: their second factor was locked and support told',
  payload: Type.Object({
    ...envelope, ...withContext,
    reportedEventId: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{16,64}$', description: 'The event the user says was not them' }),
  }, { additionalProperties: false }),
})

/** The events this issue adds (phase 2 moves them to contracts' EVENTS). */
export const NEW_EVENTS: readonly EventType[] = [
  recoveryUsed, recoveryRegenerated, deviceRemembered, pushDenied, networkSeen, verificationRejected, userReported,
]

/** Every event the notifier understands, by subject. */
export const KNOWN_EVENTS: ReadonlyMap<string, EventType> = new Map([...EVENTS, ...NEW_EVENTS].map((e) => [e.subject, e]))

/** The short type name webhooks and the feed use: `factor.enrolled` for `warden.events.v1.factor.enrolled`. */
export function typeOf (subject: string): string {
  return subject.replace(/^warden\.events\.v1\./, '')
}

export type UserReported = PayloadOf<typeof userReported>
