import {
  confirmSms, enrollSms, MaskedPhone, OpaqueId, PhoneId, removeSms, SixDigitCode, sms, SmsReference, startSms, Timestamp, verifySms,
} from '@warden/contracts'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { fail } from '../errors.js'
import { principalOf } from '../plugins/auth.js'
import {
  bearerAndStepUp, ENROLL_NOTE, errorResponses, EXAMPLE_TIME, MfaHeaders, RememberDeviceFlag, RemoveAnswer, STEP_UP_NOTE,
} from '../schema-parts.js'
import { defineStrategy, rejected } from './strategy.js'

// A code by text message: the challenge sends it (to `phoneId`, or to the first verified phone),
// with a reference number the screen shows too; verify checks the code. Phones are added,
// verified and removed under /v1/me/phones.

const PHONE_EXAMPLE = 'phn_AAAAAAAAAAAAAAAAAAAAAA'

export const AddPhoneBody = Type.Object({
  number: Type.String({ minLength: 1, maxLength: 40, description: 'A mobile number with its country prefix, e.g. +47 912 34 567' }),
}, { additionalProperties: false, examples: [{ number: '+47 912 34 567' }] })

export const AddPhoneAnswer = Type.Object({
  phoneId: PhoneId,
  reference: SmsReference,
  maskedPhone: MaskedPhone,
  expiresAt: Timestamp,
}, { additionalProperties: false, description: 'A code is on its way to the phone; the phone is usable once the code is entered', examples: [{ phoneId: PHONE_EXAMPLE, reference: '4821', maskedPhone: '+47 •• •• •• 67', expiresAt: EXAMPLE_TIME }] })

export const VerifyPhoneBody = Type.Object({ code: SixDigitCode }, { additionalProperties: false, examples: [{ code: '123456' }] })

export const VerifyPhoneAnswer = Type.Union([
  Type.Object({ status: Type.Literal('verified'), phoneId: PhoneId, maskedPhone: MaskedPhone, verifiedAt: Timestamp }, { additionalProperties: false }),
  Type.Object({
    status: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('invalid_code'), Type.Literal('expired'), Type.Literal('no_challenge')]),
    attemptsLeft: Type.Optional(Type.Integer({ minimum: 0, description: 'Tries left on this code' })),
  }, { additionalProperties: false }),
], {
  description: 'A wrong code is an answer (200 with status rejected); 5 wrong tries burn the code: add the number again for a new one',
  examples: [{ status: 'verified', phoneId: PHONE_EXAMPLE, maskedPhone: '+47 •• •• •• 67', verifiedAt: EXAMPLE_TIME }, { status: 'rejected', reason: 'invalid_code', attemptsLeft: 4 }],
})

const PhoneParams = Type.Object({ phoneId: OpaqueId })

const NUMBER_NOTE = 'A number that cannot take an SMS is refused with its own code (422): PHONE_INVALID (mostly a missing country prefix), PHONE_PREMIUM_RATE, PHONE_SHARED_COST, PHONE_TOLL_FREE, PHONE_VOIP, PHONE_NOT_MOBILE, PHONE_COUNTRY_NOT_ALLOWED. A 4th phone is 409 LIMIT_REACHED; a number already verified 409 ALREADY_ENROLLED. Adding a number still waiting for its code again sends a new code (30 s apart).'

/** The language of the SMS: the first of Accept-Language, when it looks like one. */
function localeOf (req: FastifyRequest): { locale?: string } {
  const first = req.headers['accept-language']?.split(',')[0]?.split(';')[0]?.trim()
  return first !== undefined && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(first) && first.length <= 35 ? { locale: first } : {}
}

const ipOf = (req: FastifyRequest): { ip?: string } => (req.ip === '' ? {} : { ip: req.ip.slice(0, 45) })

export const smsStrategy = defineStrategy({
  factor: sms,
  // The wizard's optional backup phone, then the code sent to it: skipped until SMS can be set up here.
  wizard: { steps: ['phone', 'sms-code'], optional: true, progress: (s) => (s.available && s.enrolled ? 2 : 0) },

  challenge: {
    body: Type.Object({
      method: Type.Literal('sms'),
      phoneId: Type.Optional(OpaqueId),
    }, { additionalProperties: false, title: 'sms', description: 'Send a code to `phoneId` (default: the first verified phone listed); again to resend (30 s apart, at most 3)', examples: [{ method: 'sms', phoneId: PHONE_EXAMPLE }] }),
    answer: Type.Object({
      reference: Type.String({ pattern: '^[0-9]{4}$', description: 'Also in the SMS: show it so the user can match the two' }),
      maskedPhone: Type.String({ maxLength: 40 }),
      expiresAt: Timestamp,
    }, { additionalProperties: false, title: 'sms', examples: [{ reference: '4821', maskedPhone: '+46 •• ••• •• 12', expiresAt: EXAMPLE_TIME }] }),
    async start ({ flow, factors }, input) {
      let phoneId = input.phoneId
      if (phoneId === undefined) {
        const [status] = await factors.describeAll(flow.userId, [sms.name])
        if (status === undefined || !status.available) throw fail('UNAVAILABLE', 'the SMS factor is not available right now', { retryAfterSec: 5 })
        // Only a verified phone receives sign-in codes.
        const phone = status.items.find((item) => item.verified !== false)
        if (!status.enrolled || phone === undefined) throw fail('NOT_ENROLLED', 'no phone is enrolled')
        phoneId = phone.id
      }
      const res = await factors.call(startSms, {
        userId: flow.userId, flowId: flow.id, phoneId, ...(flow.ip === undefined ? {} : { ip: flow.ip.slice(0, 45) }),
      })
      return { answer: res, expiresAt: res.expiresAt, data: { phoneId } }
    },
  },

  verify: {
    body: Type.Object({ method: Type.Literal('sms'), code: SixDigitCode, rememberDevice: RememberDeviceFlag }, { additionalProperties: false, title: 'sms' }),
    attemptAnswer: (input) => input.code,
    async check ({ flow, factors, idempotencyKey }, input) {
      const res = await factors.call(verifySms, { userId: flow.userId, flowId: flow.id, idempotencyKey, code: input.code }, { retryOnTimeout: true })
      return res.result === 'verified' ? { result: 'verified' } : rejected(res.reason, res.attemptsLeft)
    },
  },

  selfServicePath: 'phones',
  selfService: ({ factors, log, stepUp, enrollStepUp, factorChanges }) => async (app) => {
    app.post('', {
      schema: {
        tags: ['me'],
        summary: 'Add a phone (up to 3): a code with a reference number is sent to it',
        description: `${NUMBER_NOTE} ${STEP_UP_NOTE} ${ENROLL_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        body: AddPhoneBody,
        response: { 200: AddPhoneAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req) => factors.call(enrollSms, { userId: principalOf(req).sub, number: req.body.number, ...ipOf(req), ...localeOf(req) }))

    app.post('/:phoneId/verify', {
      schema: {
        tags: ['me'],
        summary: 'Enter the code sent to an added phone: it becomes usable for sign-in',
        description: `${STEP_UP_NOTE} ${ENROLL_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        params: PhoneParams,
        body: VerifyPhoneBody,
        response: { 200: VerifyPhoneAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req) => {
      // A verified phone is a new binding: it revokes what the factor-change hook revokes.
      const res = await factorChanges.bind(req, sms.name,
        () => factors.call(confirmSms, { userId: principalOf(req).sub, phoneId: req.params.phoneId, code: req.body.code }),
        (r) => r.result === 'verified')
      if (res.result === 'verified') {
        log.info({ factor: sms.name, phoneId: res.phoneId }, 'phone verified')
        return { status: 'verified' as const, phoneId: res.phoneId, maskedPhone: res.maskedPhone, verifiedAt: res.verifiedAt }
      }
      return res.attemptsLeft === undefined
        ? { status: 'rejected' as const, reason: res.reason }
        : { status: 'rejected' as const, reason: res.reason, attemptsLeft: res.attemptsLeft }
    })

    app.delete('/:phoneId', {
      schema: {
        tags: ['me'],
        summary: 'Remove a phone; codes already sent to it stop working at once',
        description: STEP_UP_NOTE,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        params: PhoneParams,
        response: { 200: RemoveAnswer, ...errorResponses },
      },
      preHandler: stepUp,
    }, async (req) => factorChanges.remove(req, sms.name, () => factors.call(removeSms, { userId: principalOf(req).sub, phoneId: req.params.phoneId })))
  },
})
