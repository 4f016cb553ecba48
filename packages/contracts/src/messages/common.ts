import { Type } from 'typebox'

/** The user's subject (`sub` of the primary token). Opaque to Warden; printable, bounded. */
export const UserId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$', description: 'Subject of the user (sub claim)' })

/** A sign-in transaction id: 256 random bits, base64url. */
export const FlowId = Type.String({ pattern: '^txn_[A-Za-z0-9_-]{43}$', description: 'Sign-in transaction id' })

/** Opaque ids made by Warden (enrollments, phones, devices): prefix + random base64url. */
export const OpaqueId = Type.String({ pattern: '^[a-z]{2,4}_[A-Za-z0-9_-]{16,64}$' })

export const Timestamp = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$', description: 'RFC 3339 timestamp, UTC' })

/** A one-time code the user typed. Never logged (see the pino redact list). */
export const SixDigitCode = Type.String({ pattern: '^[0-9]{6}$', description: 'Six ASCII digits' })

export const FactorName = Type.Union([
  Type.Literal('totp'), Type.Literal('push'), Type.Literal('sms'), Type.Literal('webauthn'), Type.Literal('recovery'),
])
export type FactorName = Type.Static<typeof FactorName>

/**
 * Names one attempt of an operation with an effect (verify a code, send an SMS, issue a code), so
 * a retry after a lost reply gets the recorded outcome instead of a second attempt (SECURITY §3:
 * core NATS is at most once). Scoped to the user; kept for a few minutes by the service.
 */
export const IdempotencyKey = Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$', description: 'Same key, same outcome: a retry is answered from the record, never evaluated twice' })

export const UserRequest = Type.Object({ userId: UserId }, { additionalProperties: false })
export type UserRequest = Type.Static<typeof UserRequest>

/** One enrolled item of a factor, as the sign-in screen and the settings page show it. */
export const FactorItem = Type.Object({
  id: Type.String({ maxLength: 1100 }),
  label: Type.String({ maxLength: 200, description: 'Display name, or a masked phone number' }),
  createdAt: Type.Optional(Timestamp),
  verified: Type.Optional(Type.Boolean()),
}, { additionalProperties: false })

/** What a factor service knows about one user: the basis of the methods list. */
export const DescribeResponse = Type.Object({
  factor: FactorName,
  enrolled: Type.Boolean(),
  createdAt: Type.Optional(Timestamp),
  lockedUntil: Type.Optional(Timestamp),
  items: Type.Array(FactorItem, { maxItems: 50 }),
}, { additionalProperties: false })
export type DescribeResponse = Type.Static<typeof DescribeResponse>
