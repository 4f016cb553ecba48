import { Type } from 'typebox'
import { defineEndpoint, defineEvent } from '../endpoint.js'
import { FlowId, IdempotencyKey, NotifyUserRequest, NotifyUserResponse, OpaqueId, SixDigitCode, Timestamp, UserId, VerifyRejected } from '../messages/common.js'
import { defineFactor } from './define.js'

// A code by text message (factor-sms): up to three phones per user, each verified by a code sent
// to it; sign-in codes with a reference number. A new verb of this factor goes here, and in
// `endpoints`.

/** A phone id made by factor-sms (`phn_…`). */
export const PhoneId = OpaqueId

/** Where the request came from, for the per-IP SMS budget. */
const SourceIp = Type.String({ maxLength: 45, description: 'Source IP of the user, for the per-IP SMS budget' })

/** The language the SMS is written in (BCP 47; an unknown one falls back to the default). */
const SmsLocale = Type.String({ pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$', maxLength: 35 })

/** The number as shown everywhere: the country calling code and the last two digits. */
export const MaskedPhone = Type.String({ maxLength: 40, description: 'Masked: the country calling code and the last 2 digits, e.g. "+47 •• •• •• 67"' })

/** The 4 digits the sign-in page shows and the SMS repeats. */
export const SmsReference = Type.String({ pattern: '^[0-9]{4}$', description: 'Also in the SMS, so the user can match it to this sign-in' })

// ---- sign-in --------------------------------------------------------------------------------

export const StartSmsRequest = Type.Object({
  userId: UserId, flowId: FlowId, phoneId: PhoneId,
  ip: Type.Optional(SourceIp), locale: Type.Optional(SmsLocale), idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export type StartSmsRequest = Type.Static<typeof StartSmsRequest>
export const StartSmsResponse = Type.Object({ reference: SmsReference, maskedPhone: MaskedPhone, expiresAt: Timestamp }, { additionalProperties: false })
export type StartSmsResponse = Type.Static<typeof StartSmsResponse>
export const startSms = defineEndpoint({
  subject: 'warden.sms.v1.challenge',
  summary: 'Send (or resend: 30 s apart, at most 3) a 6-digit code with a reference number to one of the user\'s verified phones',
  request: StartSmsRequest, response: StartSmsResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'NOT_FOUND', 'RATE_LIMITED', 'FACTOR_LOCKED', 'PROVIDER_UNAVAILABLE', 'UNAVAILABLE', 'INTERNAL'],
})

export const VerifySmsRequest = Type.Object({ userId: UserId, flowId: FlowId, code: SixDigitCode, idempotencyKey: Type.Optional(IdempotencyKey) }, { additionalProperties: false })
export type VerifySmsRequest = Type.Static<typeof VerifySmsRequest>
export const VerifySmsResponse = Type.Union([
  Type.Object({ result: Type.Literal('verified'), verifiedAt: Timestamp }, { additionalProperties: false }),
  VerifyRejected(['invalid_code', 'expired', 'no_challenge']),
])
export type VerifySmsResponse = Type.Static<typeof VerifySmsResponse>
export const verifySms = defineEndpoint({
  subject: 'warden.sms.v1.verify',
  summary: 'Check the SMS code sent for this sign-in transaction (5 wrong tries burn it)',
  request: VerifySmsRequest, response: VerifySmsResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'RATE_LIMITED', 'FACTOR_LOCKED', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- phones ---------------------------------------------------------------------------------

export const EnrollSmsRequest = Type.Object({
  userId: UserId,
  number: Type.String({ minLength: 1, maxLength: 40, description: 'The number with its country prefix (+47 …). Never logged' }),
  ip: Type.Optional(SourceIp), locale: Type.Optional(SmsLocale), idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export type EnrollSmsRequest = Type.Static<typeof EnrollSmsRequest>
export const EnrollSmsResponse = Type.Object({
  phoneId: PhoneId, reference: SmsReference, maskedPhone: MaskedPhone,
  expiresAt: Timestamp,
}, { additionalProperties: false })
export type EnrollSmsResponse = Type.Static<typeof EnrollSmsResponse>
export const enrollSms = defineEndpoint({
  subject: 'warden.sms.v1.enroll',
  summary: 'Add a phone (unverified) and send it a code; adding a number still waiting for its code again resends',
  request: EnrollSmsRequest, response: EnrollSmsResponse,
  errors: [
    'BAD_REQUEST', 'PHONE_INVALID', 'PHONE_PREMIUM_RATE', 'PHONE_SHARED_COST', 'PHONE_TOLL_FREE', 'PHONE_VOIP', 'PHONE_NOT_MOBILE',
    'PHONE_COUNTRY_NOT_ALLOWED', 'ALREADY_ENROLLED', 'LIMIT_REACHED', 'RATE_LIMITED', 'PROVIDER_UNAVAILABLE', 'UNAVAILABLE', 'INTERNAL',
  ],
})

export const ConfirmSmsRequest = Type.Object({ userId: UserId, phoneId: PhoneId, code: SixDigitCode, idempotencyKey: Type.Optional(IdempotencyKey) }, { additionalProperties: false })
export type ConfirmSmsRequest = Type.Static<typeof ConfirmSmsRequest>
export const ConfirmSmsResponse = Type.Union([
  Type.Object({ result: Type.Literal('verified'), phoneId: PhoneId, maskedPhone: MaskedPhone, verifiedAt: Timestamp }, { additionalProperties: false }),
  VerifyRejected(['invalid_code', 'expired', 'no_challenge']),
])
export type ConfirmSmsResponse = Type.Static<typeof ConfirmSmsResponse>
export const confirmSms = defineEndpoint({
  subject: 'warden.sms.v1.confirm',
  summary: 'The code sent to an added phone: the phone becomes usable for sign-in',
  request: ConfirmSmsRequest, response: ConfirmSmsResponse,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'CONFLICT', 'ENROLLMENT_EXPIRED', 'RATE_LIMITED', 'FACTOR_LOCKED', 'UNAVAILABLE', 'INTERNAL'],
})

export const RemoveSmsRequest = Type.Object({ userId: UserId, phoneId: PhoneId }, { additionalProperties: false })
export type RemoveSmsRequest = Type.Static<typeof RemoveSmsRequest>
export const RemoveSmsResponse = Type.Object({ removed: Type.Boolean() }, { additionalProperties: false })
export type RemoveSmsResponse = Type.Static<typeof RemoveSmsResponse>
export const removeSms = defineEndpoint({
  subject: 'warden.sms.v1.remove',
  summary: 'Remove a phone; codes already sent to it stop working at once',
  request: RemoveSmsRequest, response: RemoveSmsResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- notices (the notifier: security notifications, not codes) ------------------------------

export const notifySms = defineEndpoint({
  subject: 'warden.sms.v1.notify',
  summary: 'Send a notice (not a code) to each of the user\'s verified phones through the SMS provider; answers how many it reached',
  request: NotifyUserRequest, response: NotifyUserResponse,
  errors: ['BAD_REQUEST', 'RATE_LIMITED', 'PROVIDER_UNAVAILABLE', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- events -----------------------------------------------------------------------------------

/** SMS stopped: to one calling code (its codes were not being typed), or everywhere (too many sent). */
export const smsBreakerOpened = defineEvent({
  subject: 'warden.events.v1.smsbreaker.opened',
  summary: 'SMS pumping defence: a breaker opened and SMS stop until `until` (other methods are offered)',
  payload: Type.Object({
    eventId: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{16,64}$', description: 'Also the Nats-Msg-Id, for de-duplication' }),
    occurredAt: Timestamp,
    breaker: Type.Union([Type.Literal('conversion'), Type.Literal('global')]),
    callingCode: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'The country calling code (conversion breaker)' })),
    until: Timestamp,
    sent: Type.Optional(Type.Integer({ minimum: 0, description: 'Codes judged' })),
    verified: Type.Optional(Type.Integer({ minimum: 0, description: 'Of them, entered' })),
  }, { additionalProperties: false }),
})

export const sms = defineFactor({
  name: 'sms',
  service: 'factor-sms',
  amr: ['sms'],
  // Seeds: SMS is never the default when a stronger factor exists.
  fallback: true,
  describe: 'Phones of the user, masked (verified and waiting for their code)',
  endpoints: { challenge: startSms, verify: verifySms, enroll: enrollSms, confirm: confirmSms, remove: removeSms, notify: notifySms },
})
