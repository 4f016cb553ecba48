import { OpaqueId, SixDigitCode, sms, startSms, Timestamp, verifySms } from '@warden/contracts'
import { Type } from 'typebox'
import { fail } from '../errors.js'
import { EXAMPLE_TIME, RememberDeviceFlag } from '../schema-parts.js'
import { defineStrategy, rejected } from './strategy.js'

// A code by text message: the challenge sends it (to `phoneId`, or to the first phone listed),
// with a reference number the screen shows too; verify checks the code.

export const smsStrategy = defineStrategy({
  factor: sms,

  challenge: {
    body: Type.Object({
      method: Type.Literal('sms'),
      phoneId: Type.Optional(OpaqueId),
    }, { additionalProperties: false, title: 'sms', description: 'Send a code to `phoneId` (default: the first phone listed)', examples: [{ method: 'sms', phoneId: 'phn_AAAAAAAAAAAAAAAAAAAAAA' }] }),
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
        const phone = status.items[0]
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
})
