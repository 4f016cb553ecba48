import { Type } from 'typebox'
import { defineEndpoint, defineEvent } from '../endpoint.js'
import { EventEnvelope, FlowId, IdempotencyKey, OpaqueId, Timestamp, UserId, VerifyRejected } from '../messages/common.js'
import { defineFactor } from './define.js'

// The one-time emergency code ("Master Key") and the support code, served by the recovery
// service. A new verb of this factor goes here, and in `endpoints`.

/** A code as the bus carries it: 16 base32 characters (80 bits), dashes optional. */
export const RecoveryCode = Type.String({ pattern: '^[A-Z2-7]{4}(-?[A-Z2-7]{4}){3}$', description: 'Emergency code: 16 base32 characters (80 bits), dashes optional' })

/** A code as it is shown, once: four groups of four. Never logged. */
export const ShownRecoveryCode = Type.String({ pattern: '^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$', description: 'Shown once; never logged. 16 base32 characters (80 bits) in four groups' })

// Checked before upper-casing: 'ß'.toUpperCase() is 'SS' and 'ı' becomes 'I'.
const TYPED = /^[A-Za-z2-7]{16}$/

/**
 * What a person typed → the canonical 16 characters (no dashes), or undefined if it cannot be a
 * code. Accepts lowercase, and spaces, tabs and dashes (also typographic ones) anywhere. Nothing
 * else is guessed: 0, 1, 8 and 9 are not in the alphabet, and mapping them to letters would make
 * two typed strings one code. The gateway runs it before its contract check; the service again.
 */
export function normalizeRecoveryCode (input: string): string | undefined {
  if (input.length > 64) return undefined
  const compact = input.replace(/[\s\-\u2010-\u2015]/g, '')
  return TYPED.test(compact) ? compact.toUpperCase() : undefined
}

/** `ABCDEFGHIJKLMNOP` → `ABCD-EFGH-IJKL-MNOP`: how a code is shown. */
export function formatRecoveryCode (canonical: string): string {
  return canonical.match(/.{1,4}/g)?.join('-') ?? canonical
}

// ---- verify: spend a code at sign-in, in one of the seeds' two modes ---------------------------
export const RecoveryMode = Type.Union([Type.Literal('temporary'), Type.Literal('permanent')], {
  description: 'temporary: sign in once, the code is replaced by a new one. permanent: the code is spent and 2FA is reset',
})
export type RecoveryMode = Type.Static<typeof RecoveryMode>

export const VerifyRecoveryRequest = Type.Object({
  userId: UserId, flowId: FlowId, code: RecoveryCode, mode: RecoveryMode,
  idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export type VerifyRecoveryRequest = Type.Static<typeof VerifyRecoveryRequest>

export const VerifyRecoveryResponse = Type.Union([
  Type.Object({
    result: Type.Literal('verified'), verifiedAt: Timestamp,
    /** Temporary loss: the replacement, shown once (again to a retry of the same attempt within the retry window). */
    newCode: Type.Optional(ShownRecoveryCode),
  }, { additionalProperties: false }),
  VerifyRejected(['invalid_code', 'replayed', 'expired']),
], { description: 'rejected: replayed = a parallel attempt spent the code first; expired = a support code past its time' })
export type VerifyRecoveryResponse = Type.Static<typeof VerifyRecoveryResponse>

export const verifyRecovery = defineEndpoint({
  subject: 'warden.recovery.v1.verify',
  summary: 'Spend the emergency code (once); temporary loss issues a new one, permanent loss resets 2FA',
  request: VerifyRecoveryRequest, response: VerifyRecoveryResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'RATE_LIMITED', 'FACTOR_LOCKED', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- issue: a new emergency code (the first, or a regeneration that invalidates the old) -------
export const IssueRecoveryCodeRequest = Type.Object({
  userId: UserId,
  idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export type IssueRecoveryCodeRequest = Type.Static<typeof IssueRecoveryCodeRequest>

export const IssueRecoveryCodeResponse = Type.Object({
  code: ShownRecoveryCode,
  codeId: OpaqueId,
  createdAt: Timestamp,
}, { additionalProperties: false })
export type IssueRecoveryCodeResponse = Type.Static<typeof IssueRecoveryCodeResponse>

export const issueRecoveryCode = defineEndpoint({
  subject: 'warden.recovery.v1.issue',
  summary: 'A new emergency code, shown once; the old one (if any) is invalid from the same write',
  request: IssueRecoveryCodeRequest, response: IssueRecoveryCodeResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- acknowledge: "I have safely copied and stored this code." --------------------------------
export const AcknowledgeRecoveryCodeRequest = Type.Object({
  userId: UserId,
  /** The code the user saw: CONFLICT if it was replaced since. */
  codeId: Type.Optional(OpaqueId),
}, { additionalProperties: false })
export type AcknowledgeRecoveryCodeRequest = Type.Static<typeof AcknowledgeRecoveryCodeRequest>

export const AcknowledgeRecoveryCodeResponse = Type.Object({ codeId: OpaqueId, acknowledgedAt: Timestamp }, { additionalProperties: false })
export type AcknowledgeRecoveryCodeResponse = Type.Static<typeof AcknowledgeRecoveryCodeResponse>

export const acknowledgeRecoveryCode = defineEndpoint({
  subject: 'warden.recovery.v1.acknowledge',
  summary: 'Record "I have safely copied and stored this code."; the code is never shown again',
  request: AcknowledgeRecoveryCodeRequest, response: AcknowledgeRecoveryCodeResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- issueSupportCode: a one-time code an agent reads out over a verified channel ---------------
export const IssueSupportCodeRequest = Type.Object({
  userId: UserId,
  ttlSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400, description: 'Life of the code; capped at the service\'s configured maximum (≤ 24 h)' })),
}, { additionalProperties: false })
export type IssueSupportCodeRequest = Type.Static<typeof IssueSupportCodeRequest>

export const IssueSupportCodeResponse = Type.Object({
  code: ShownRecoveryCode,
  codeId: OpaqueId,
  expiresAt: Timestamp,
}, { additionalProperties: false })
export type IssueSupportCodeResponse = Type.Static<typeof IssueSupportCodeResponse>

export const issueSupportCode = defineEndpoint({
  subject: 'warden.recovery.v1.issueSupportCode',
  summary: 'A one-time support code (emergency-code format, ≤ 24 h), spent like an emergency code; it replaces nothing until used',
  request: IssueSupportCodeRequest, response: IssueSupportCodeResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- events -------------------------------------------------------------------------------------
export const recoveryCodeUsed = defineEvent({
  subject: 'warden.events.v1.emergencycode.used',
  summary: 'An emergency or support code was spent at sign-in (temporary: a new code was issued; permanent: 2FA is being reset)',
  payload: Type.Object({
    ...EventEnvelope,
    itemId: OpaqueId,
    kind: Type.Union([Type.Literal('emergency'), Type.Literal('support')]),
    mode: RecoveryMode,
  }, { additionalProperties: false }),
})

export const supportCodeIssued = defineEvent({
  subject: 'warden.events.v1.supportcode.issued',
  summary: 'Support issued a one-time code for a user (audit; never the code)',
  payload: Type.Object({ ...EventEnvelope, itemId: OpaqueId, expiresAt: Timestamp }, { additionalProperties: false }),
})

export const recovery = defineFactor({
  name: 'recovery',
  service: 'recovery',
  // A look-up secret has no RFC 8176 value of its own: a one-time password.
  amr: ['otp'],
  // Seeds: the emergency code is the last resort.
  fallback: true,
  describe: 'Whether the user has a code to spend (an unused emergency code, or a live support code); the emergency code\'s item has verified = the user confirmed they stored it',
  endpoints: { verify: verifyRecovery, issue: issueRecoveryCode, acknowledge: acknowledgeRecoveryCode, issueSupportCode },
})
