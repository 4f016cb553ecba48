import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { FlowId, IdempotencyKey, OpaqueId, SixDigitCode, Timestamp, UserId, VerifyRejected } from '../messages/common.js'
import { defineFactor } from './define.js'

// A code by text message (factor-sms). A new verb of this factor goes here, and in `endpoints`.

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

export const sms = defineFactor({
  name: 'sms',
  service: 'factor-sms',
  amr: ['sms'],
  // Seeds: SMS is never the default when a stronger factor exists.
  fallback: true,
  describe: 'Phones of the user, masked',
  endpoints: { challenge: startSms, verify: verifySms },
})
