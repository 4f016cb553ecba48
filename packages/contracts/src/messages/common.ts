import { Type } from 'typebox'

// The building blocks every message uses. This module imports nothing of the package: each
// factor's file (src/factors/<name>.ts) takes its pieces from here and from ../endpoint.js only,
// so the registry (src/factors/index.ts), which imports every factor file, never forms a cycle.

/** The user's subject (`sub` of the primary token). Opaque to Warden; printable, bounded. */
export const UserId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$', description: 'Subject of the user (sub claim)' })

/** A sign-in transaction id: 256 random bits, base64url. */
export const FlowId = Type.String({ pattern: '^txn_[A-Za-z0-9_-]{43}$', description: 'Sign-in transaction id' })

/** Opaque ids made by Warden (enrollments, phones, devices): prefix + random base64url. */
export const OpaqueId = Type.String({ pattern: '^[a-z]{2,4}_[A-Za-z0-9_-]{16,64}$' })

export const Timestamp = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$', description: 'RFC 3339 timestamp, UTC' })

/** A one-time code the user typed. Never logged (see the pino redact list). */
export const SixDigitCode = Type.String({ pattern: '^[0-9]{6}$', description: 'Six ASCII digits' })

/**
 * Names one attempt of an operation with an effect (verify a code, send an SMS, issue a code), so
 * a retry after a lost reply gets the recorded outcome instead of a second attempt (SECURITY §3:
 * core NATS is at most once). Scoped to the user; kept for a few minutes by the service.
 */
export const IdempotencyKey = Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$', description: 'Same key, same outcome: a retry is answered from the record, never evaluated twice' })

export const UserRequest = Type.Object({ userId: UserId }, { additionalProperties: false })
export type UserRequest = Type.Static<typeof UserRequest>

/**
 * A verify answer that refuses the attempt, with the factor's own reasons. A wrong answer is an
 * answer, not an error: the caller branches on `result`.
 */
export const VerifyRejected = <const R extends readonly string[]>(reasons: R) => Type.Object({
  result: Type.Literal('rejected'),
  reason: Type.Union(reasons.map((r) => Type.Literal(r))) as unknown as Type.TUnion<{ -readonly [K in keyof R]: Type.TLiteral<R[K]> }>,
  attemptsLeft: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false })

/** The fields every security event carries (WARDEN_EVENTS). */
export const EventEnvelope = {
  eventId: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{16,64}$', description: 'Also the Nats-Msg-Id, for de-duplication' }),
  occurredAt: Timestamp,
  userId: UserId,
}

/** One enrolled item of a factor, as the sign-in screen and the settings page show it. */
export const FactorItem = Type.Object({
  id: Type.String({ maxLength: 1100 }),
  label: Type.String({ maxLength: 200, description: 'Display name, or a masked phone number' }),
  createdAt: Type.Optional(Timestamp),
  verified: Type.Optional(Type.Boolean()),
}, { additionalProperties: false })

/**
 * A notice to a user about their own account (the notifier's security notifications), sent
 * through one of their own factors: `warden.push.v1.notify`, `warden.sms.v1.notify`. The sender
 * never learns a phone number or a push token; the factor service that holds them sends.
 */
export const NotifyUserRequest = Type.Object({
  userId: UserId,
  text: Type.String({
    minLength: 1, maxLength: 320, pattern: '^(?=.*\\S)[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]+$',
    description: 'What the user reads: one line, at most 320 characters (two SMS parts)',
  }),
  link: Type.Optional(Type.String({
    maxLength: 1024, pattern: '^https?://[\\x21-\\x7E]+$', description: 'Where "Not you?" leads: appended to the SMS, a separate field of the push',
  })),
  /** The same key (the event id) never sends twice: a retried notice answers from the record. */
  idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export type NotifyUserRequest = Type.Static<typeof NotifyUserRequest>

export const NotifyUserResponse = Type.Object({
  reached: Type.Integer({ minimum: 0, maximum: 100, description: 'Devices or phones the notice went to; 0: none to send to' }),
}, { additionalProperties: false })
export type NotifyUserResponse = Type.Static<typeof NotifyUserResponse>
