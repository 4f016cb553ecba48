import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { FlowId, IdempotencyKey, OpaqueId, SixDigitCode, Timestamp, UserId } from './common.js'

// Sign-in verbs of the factors other than TOTP. The gateway speaks them for every method from
// the start; each factor service implements them in its own issue (until then it answers
// NOT_ENROLLED, since nobody can be enrolled in it).

/** What the user is told about the sign-in they are approving. No secrets. */
export const SigninContext = Type.Object({
  appName: Type.String({ minLength: 1, maxLength: 100 }),
  ip: Type.Optional(Type.String({ maxLength: 45 })),
  userAgent: Type.Optional(Type.String({ maxLength: 300 })),
}, { additionalProperties: false })

const VerifyRejected = (reasons: string[]) => Type.Object({
  result: Type.Literal('rejected'),
  reason: Type.Union(reasons.map((r) => Type.Literal(r))),
  attemptsLeft: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false })

// ---- push -------------------------------------------------------------------------------------
export const StartPushRequest = Type.Object({
  userId: UserId, flowId: FlowId, deviceId: Type.Optional(OpaqueId), context: SigninContext,
}, { additionalProperties: false })
export const StartPushResponse = Type.Object({
  challengeId: OpaqueId,
  expiresAt: Timestamp,
  numberToMatch: Type.Integer({ minimum: 10, maximum: 99, description: 'Shown on the sign-in screen; the user picks it in the app (number matching)' }),
}, { additionalProperties: false })
export const startPush = defineEndpoint({
  subject: 'warden.push.v1.challenge',
  summary: 'Send a push approval request with number matching to the paired device(s)',
  request: StartPushRequest, response: StartPushResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'RATE_LIMITED', 'FACTOR_LOCKED', 'PROVIDER_UNAVAILABLE', 'UNAVAILABLE', 'INTERNAL'],
})

export const PushStatusRequest = Type.Object({
  userId: UserId, flowId: FlowId, challengeId: OpaqueId,
  waitMs: Type.Integer({ minimum: 0, maximum: 25_000, description: 'Long-poll: answer as soon as the state leaves pending, or after this long' }),
}, { additionalProperties: false })
export const PushStatusResponse = Type.Object({
  state: Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('denied'), Type.Literal('expired')]),
}, { additionalProperties: false })
export const pushStatus = defineEndpoint({
  subject: 'warden.push.v1.status',
  summary: 'State of a push challenge (long-poll); approved is reported once per challenge',
  request: PushStatusRequest, response: PushStatusResponse,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- sms --------------------------------------------------------------------------------------
export const StartSmsRequest = Type.Object({ userId: UserId, flowId: FlowId, phoneId: OpaqueId, ip: Type.Optional(Type.String({ maxLength: 45 })), idempotencyKey: Type.Optional(IdempotencyKey) }, { additionalProperties: false })
export const StartSmsResponse = Type.Object({
  reference: Type.String({ pattern: '^[0-9]{4}$', description: 'Also in the SMS, so the user can match it to this sign-in' }),
  maskedPhone: Type.String({ maxLength: 40 }),
  expiresAt: Timestamp,
}, { additionalProperties: false })
export const startSms = defineEndpoint({
  subject: 'warden.sms.v1.challenge',
  summary: 'Send a 6-digit code with a reference number to one of the user\'s phones',
  request: StartSmsRequest, response: StartSmsResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'NOT_FOUND', 'RATE_LIMITED', 'FACTOR_LOCKED', 'PROVIDER_UNAVAILABLE', 'UNAVAILABLE', 'INTERNAL'],
})
export const VerifySmsRequest = Type.Object({ userId: UserId, flowId: FlowId, code: SixDigitCode, idempotencyKey: Type.Optional(IdempotencyKey) }, { additionalProperties: false })
export const VerifySmsResponse = Type.Union([
  Type.Object({ result: Type.Literal('verified'), verifiedAt: Timestamp }, { additionalProperties: false }),
  VerifyRejected(['invalid_code', 'expired', 'no_challenge']),
])
export const verifySms = defineEndpoint({
  subject: 'warden.sms.v1.verify',
  summary: 'Check the SMS code sent for this sign-in transaction',
  request: VerifySmsRequest, response: VerifySmsResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'FACTOR_LOCKED', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- webauthn ---------------------------------------------------------------------------------
/** WebAuthn JSON (options or an assertion), checked in depth by @simplewebauthn/server. */
const WebauthnJson = Type.Object({}, { additionalProperties: true, maxProperties: 20 })
export const WebauthnOptionsRequest = Type.Object({ userId: UserId, flowId: FlowId }, { additionalProperties: false })
export const WebauthnOptionsResponse = Type.Object({ options: WebauthnJson }, { additionalProperties: false })
export const webauthnOptions = defineEndpoint({
  subject: 'warden.webauthn.v1.options',
  summary: 'Authentication options (a fresh 32-byte challenge) for the user\'s keys',
  request: WebauthnOptionsRequest, response: WebauthnOptionsResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'UNAVAILABLE', 'INTERNAL'],
})
export const VerifyWebauthnRequest = Type.Object({ userId: UserId, flowId: FlowId, response: WebauthnJson, idempotencyKey: Type.Optional(IdempotencyKey) }, { additionalProperties: false })
export const VerifyWebauthnResponse = Type.Union([
  Type.Object({ result: Type.Literal('verified'), verifiedAt: Timestamp, credentialId: Type.String({ maxLength: 1400 }), userVerified: Type.Boolean() }, { additionalProperties: false }),
  VerifyRejected(['invalid_assertion', 'no_challenge', 'unknown_credential']),
])
export const verifyWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.verify',
  summary: 'Check an assertion against the challenge of this transaction and the credential\'s owner',
  request: VerifyWebauthnRequest, response: VerifyWebauthnResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'FACTOR_LOCKED', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- recovery ---------------------------------------------------------------------------------
export const RecoveryCode = Type.String({ pattern: '^[A-Z2-7]{4}(-?[A-Z2-7]{4}){3}$', description: 'Emergency code: 16 base32 characters (80 bits), dashes optional' })
export const VerifyRecoveryRequest = Type.Object({
  userId: UserId, flowId: FlowId, code: RecoveryCode,
  mode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent')]),
  idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export const VerifyRecoveryResponse = Type.Union([
  Type.Object({
    result: Type.Literal('verified'), verifiedAt: Timestamp,
    newCode: Type.Optional(Type.String({ description: 'Temporary loss: the replacement code, shown once' })),
  }, { additionalProperties: false }),
  VerifyRejected(['invalid_code']),
])
export const verifyRecovery = defineEndpoint({
  subject: 'warden.recovery.v1.verify',
  summary: 'Spend the emergency code (once); temporary loss issues a new one, permanent loss resets 2FA',
  request: VerifyRecoveryRequest, response: VerifyRecoveryResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'FACTOR_LOCKED', 'UNAVAILABLE', 'INTERNAL'],
})
