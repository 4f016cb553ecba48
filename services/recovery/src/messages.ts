import { defineEvent, IdempotencyKey, OpaqueId, Timestamp, UserId, VerifyRecoveryRequest as VerifyRecoveryRequestSchema } from '@warden/contracts'
import { Type } from 'typebox'

// The recovery service's bus vocabulary. Staged here until the factor kit lands; then it moves,
// unchanged, to packages/contracts/src/factors/recovery.ts (subjects warden.recovery.v1.<verb>).

/** An emergency or support code as it is shown, once: four groups of four base32 characters. */
export const ShownRecoveryCode = Type.String({
  pattern: '^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$',
  description: 'Shown once; never logged. 16 base32 characters (80 bits) in four groups',
})

// ---- issue: a new emergency code (first one, or a regeneration that invalidates the old) ------
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

// ---- acknowledge: "I have safely copied and stored this code." ------------------------------
export const AcknowledgeRecoveryCodeRequest = Type.Object({
  userId: UserId,
  /** The code the user saw; CONFLICT if it was replaced since. */
  codeId: Type.Optional(OpaqueId),
}, { additionalProperties: false })
export type AcknowledgeRecoveryCodeRequest = Type.Static<typeof AcknowledgeRecoveryCodeRequest>

export const AcknowledgeRecoveryCodeResponse = Type.Object({ codeId: OpaqueId, acknowledgedAt: Timestamp }, { additionalProperties: false })
export type AcknowledgeRecoveryCodeResponse = Type.Static<typeof AcknowledgeRecoveryCodeResponse>

// ---- verify: spend a code at sign-in, in one of the seeds' two modes --------------------------
/** The gateway's verify, unchanged: `{ userId, flowId, code, mode, idempotencyKey? }`. */
export const VerifyRecoveryRequest = VerifyRecoveryRequestSchema
export type VerifyRecoveryRequest = Type.Static<typeof VerifyRecoveryRequest>
export type RecoveryMode = VerifyRecoveryRequest['mode']

export const VerifyRecoveryResponse = Type.Union([
  Type.Object({
    result: Type.Literal('verified'),
    verifiedAt: Timestamp,
    /** Temporary loss: the replacement, shown once (again to a retry of the same attempt, for a few minutes). */
    newCode: Type.Optional(ShownRecoveryCode),
  }, { additionalProperties: false }),
  Type.Object({
    result: Type.Literal('rejected'),
    reason: Type.Union([
      Type.Literal('invalid_code'),
      Type.Literal('replayed'),
      Type.Literal('expired'),
    ], { description: 'replayed: the code was spent by a parallel attempt; expired: a support code past its time' }),
    attemptsLeft: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false }),
])
export type VerifyRecoveryResponse = Type.Static<typeof VerifyRecoveryResponse>

// ---- issueSupportCode: a one-time code an agent reads out over a verified channel ------------
export const IssueSupportCodeRequest = Type.Object({
  userId: UserId,
  ttlSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400, description: 'Life of the code; the service caps it at its configured maximum (≤ 24 h)' })),
}, { additionalProperties: false })
export type IssueSupportCodeRequest = Type.Static<typeof IssueSupportCodeRequest>

export const IssueSupportCodeResponse = Type.Object({
  code: ShownRecoveryCode,
  codeId: OpaqueId,
  expiresAt: Timestamp,
}, { additionalProperties: false })
export type IssueSupportCodeResponse = Type.Static<typeof IssueSupportCodeResponse>

// ---- events -----------------------------------------------------------------------------------
const envelope = {
  eventId: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{16,64}$', description: 'Also the Nats-Msg-Id, for de-duplication' }),
  occurredAt: Timestamp,
  userId: UserId,
}

export const recoveryCodeUsed = defineEvent({
  subject: 'warden.events.v1.emergencycode.used',
  summary: 'An emergency or support code was spent at sign-in (temporary: a new code was issued; permanent: 2FA is being reset)',
  payload: Type.Object({
    ...envelope,
    itemId: OpaqueId,
    kind: Type.Union([Type.Literal('emergency'), Type.Literal('support')]),
    mode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent')]),
  }, { additionalProperties: false }),
})

export const supportCodeIssued = defineEvent({
  subject: 'warden.events.v1.supportcode.issued',
  summary: 'Support issued a one-time code for a user (audit)',
  payload: Type.Object({ ...envelope, itemId: OpaqueId, expiresAt: Timestamp }, { additionalProperties: false }),
})
