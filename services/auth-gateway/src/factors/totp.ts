import { confirmTotp, enrollTotp, OpaqueId, removeTotp, SixDigitCode, Timestamp, totp, verifyTotp } from '@warden/contracts'
import { Type } from 'typebox'
import { principalOf } from '../plugins/auth.js'
import {
  bearerAndStepUp, ENROLL_NOTE, errorResponses, MfaHeaders, NothingToSend, RememberDeviceFlag, RemoveAnswer, STEP_UP_NOTE,
} from '../schema-parts.js'
import { defineStrategy, rejected } from './strategy.js'

// The authenticator app: nothing to send at sign-in (the user reads the code from the app), a
// code to verify, and enrollment with a QR code under /v1/me/totp.

export const EnrollAnswer = Type.Object({
  enrollmentId: OpaqueId,
  secret: Type.String({ description: 'Base32 secret for manual entry' }),
  otpauthUri: Type.String(),
  qrSvg: Type.String({ description: 'SVG of the otpauth URI' }),
  expiresAt: Timestamp,
}, {
  additionalProperties: false,
  examples: [{
    enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA',
    secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    otpauthUri: 'otpauth://totp/Warden:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Warden',
    qrSvg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 33 33">…</svg>',
    expiresAt: '2026-11-23T09:40:00.000Z',
  }],
})
export type EnrollAnswer = Type.Static<typeof EnrollAnswer>

export const ConfirmBody = Type.Object({ enrollmentId: OpaqueId, code: SixDigitCode }, { additionalProperties: false, examples: [{ enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA', code: '123456' }] })

export const ConfirmAnswer = Type.Union([
  Type.Object({ status: Type.Literal('confirmed'), confirmedAt: Timestamp }, { additionalProperties: false }),
  Type.Object({
    status: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('invalid_code'), Type.Literal('clock_skew')]),
    offsetSec: Type.Optional(Type.Integer({ description: 'Approximate clock offset of the device, for clock_skew' })),
  }, { additionalProperties: false }),
], {
  description: 'A wrong code is an answer (200 with status rejected), as at sign-in',
  examples: [{ status: 'confirmed', confirmedAt: '2026-11-23T09:31:00.000Z' }, { status: 'rejected', reason: 'clock_skew', offsetSec: 95 }],
})
export type ConfirmAnswer = Type.Static<typeof ConfirmAnswer>

export const totpStrategy = defineStrategy({
  factor: totp,

  challenge: {
    body: Type.Object({ method: Type.Literal('totp') }, { additionalProperties: false, title: 'totp', examples: [{ method: 'totp' }] }),
    answer: NothingToSend,
  },

  verify: {
    body: Type.Object({ method: Type.Literal('totp'), code: SixDigitCode, rememberDevice: RememberDeviceFlag }, {
      additionalProperties: false, title: 'totp', examples: [{ method: 'totp', code: '123456', rememberDevice: true }],
    }),
    attemptAnswer: (input) => input.code,
    async check ({ flow, factors, idempotencyKey }, input) {
      const res = await factors.call(verifyTotp, { userId: flow.userId, flowId: flow.id, idempotencyKey, code: input.code }, { retryOnTimeout: true })
      return res.result === 'verified' ? { result: 'verified' } : rejected(res.reason, res.attemptsLeft, res.offsetSec)
    },
  },

  selfService: ({ factors, stepUp, enrollStepUp, factorChanges }) => async (app) => {
    app.post('', {
      schema: {
        tags: ['me'],
        summary: 'Start an authenticator-app enrollment (active only once confirmed)',
        description: `No body. ${STEP_UP_NOTE} ${ENROLL_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        response: { 200: EnrollAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req): Promise<EnrollAnswer> => {
      const principal = principalOf(req)
      return factors.call(enrollTotp, { userId: principal.sub, accountName: principal.accountName })
    })

    app.post('/confirm', {
      schema: {
        tags: ['me'],
        summary: 'Confirm the enrollment with a code from the app; a wrong code is 200 with status rejected',
        description: `${STEP_UP_NOTE} ${ENROLL_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        body: ConfirmBody,
        response: { 200: ConfirmAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req): Promise<ConfirmAnswer> => {
      const res = await factorChanges.bind(req, totp.name,
        () => factors.call(confirmTotp, { userId: principalOf(req).sub, enrollmentId: req.body.enrollmentId, code: req.body.code }),
        (r) => r.result === 'confirmed')
      if (res.result === 'confirmed') return { status: 'confirmed', confirmedAt: res.confirmedAt }
      return res.offsetSec === undefined
        ? { status: 'rejected', reason: res.reason }
        : { status: 'rejected', reason: res.reason, offsetSec: res.offsetSec }
    })

    app.delete('', {
      schema: {
        tags: ['me'],
        summary: 'Remove the authenticator app (and any pending enrollment)',
        description: STEP_UP_NOTE,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        response: { 200: RemoveAnswer, ...errorResponses },
      },
      preHandler: stepUp,
    }, async (req) => factorChanges.remove(req, totp.name, () => factors.call(removeTotp, { userId: principalOf(req).sub })))
  },
})
