import {
  acknowledgeRecoveryCode, IdempotencyKey, issueRecoveryCode, issueSupportCode, normalizeRecoveryCode, OpaqueId, recovery,
  ShownRecoveryCode, Timestamp, UserId, verifyRecovery,
} from '@warden/contracts'
import { Type } from 'typebox'
import { fail } from '../errors.js'
import { principalOf } from '../plugins/auth.js'
import { bearer, bearerAndStepUp, ENROLL_NOTE, errorResponses, MfaHeaders, NothingToSend, RememberDeviceFlag, STEP_UP_NOTE } from '../schema-parts.js'
import { defineStrategy, rejected } from './strategy.js'

// The one-time emergency code ("Master Key"). Temporary loss: signed in once, with a new code
// (shown once, never logged). Permanent loss: the code resets 2FA (user.reset) and the user enrolls
// again. Self-service: issue (or regenerate) the code and record "I have safely copied and stored
// this code."; support: a one-time support code, spent the same way.

/** What people type: lowercase, spaces and dashes are fine; normalizeRecoveryCode makes it the contract's. */
const TypedRecoveryCode = Type.String({
  minLength: 16, maxLength: 64, pattern: '^[A-Za-z2-7\\s\\u2010-\\u2015-]+$',
  description: 'The emergency (or support) code as typed: 16 characters A-Z and 2-7; lowercase, spaces and dashes are accepted',
})

function canonicalCode (typed: string): string {
  const code = normalizeRecoveryCode(typed)
  if (code === undefined) throw fail('BAD_REQUEST', 'an emergency code is 16 characters A-Z and 2-7 (spaces and dashes are fine)')
  return code
}

export const RecoveryCodeAnswer = Type.Object({
  code: ShownRecoveryCode,
  codeId: OpaqueId,
  createdAt: Timestamp,
}, {
  additionalProperties: false,
  description: 'The emergency code, shown this once: the user stores it, then POST /v1/me/recovery-code/ack. Any older code no longer works',
  examples: [{ code: 'WXYZ-2345-ABCD-EFGH', codeId: 'rcv_AAAAAAAAAAAAAAAAAAAAAA', createdAt: '2026-11-23T09:40:00.000Z' }],
})

export const RecoveryAckBody = Type.Object({
  stored: Type.Literal(true, { description: '"I have safely copied and stored this code."' }),
  codeId: Type.Optional(OpaqueId),
}, { additionalProperties: false, examples: [{ stored: true }] })

export const RecoveryAckAnswer = Type.Object({ codeId: OpaqueId, acknowledgedAt: Timestamp }, { additionalProperties: false, examples: [{ codeId: 'rcv_AAAAAAAAAAAAAAAAAAAAAA', acknowledgedAt: '2026-11-23T09:41:00.000Z' }] })

export const IdempotencyHeaders = Type.Object({
  ...MfaHeaders.properties,
  /** A retry with the same key (lost reply, ≤5 min) gets the same code instead of a new one. */
  'idempotency-key': Type.Optional(IdempotencyKey),
})

export const SupportCodeParams = Type.Object({ sub: UserId }, { additionalProperties: false })
export const SupportCodeBody = Type.Object({
  ttlSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400, description: 'Life of the code, at most 24 h (and at most the service\'s SUPPORT_CODE_MAX_TTL_SEC); 1 h by default' })),
}, { additionalProperties: false, examples: [{}, { ttlSec: 1800 }] })
export const SupportCodeAnswer = Type.Object({ code: ShownRecoveryCode, expiresAt: Timestamp }, {
  additionalProperties: false,
  examples: [{ code: 'WXYZ-2345-ABCD-EFGH', expiresAt: '2026-11-23T10:40:00.000Z' }],
  description: 'Read it out to the user over a verified channel; it is shown this once, spent like an emergency code (either mode), and replaces nothing until used',
})

export const recoveryStrategy = defineStrategy({
  factor: recovery,
  // An emergency code alone is no second factor to set up: it backs up the app (seeds' last step).
  backupOnly: true,

  challenge: {
    body: Type.Object({ method: Type.Literal('recovery') }, { additionalProperties: false, title: 'recovery' }),
    answer: NothingToSend,
  },

  verify: {
    body: Type.Object({
      method: Type.Literal('recovery'),
      code: TypedRecoveryCode,
      recoveryMode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent')], {
        description: 'temporary: sign in once and get a new emergency code. permanent: 2FA is reset (every factor and remembered device removed) and the answer is `reset` with an enrollment token',
      }),
      rememberDevice: RememberDeviceFlag,
    }, { additionalProperties: false, title: 'recovery', examples: [{ method: 'recovery', code: 'abcd efgh ijkl mnop', recoveryMode: 'temporary' }] }),
    // The mode is part of the answer: the same code with the other mode is another attempt. The
    // code as normalised: "abcd-…" and "ABCD…" are one answer.
    attemptAnswer: (input) => `${input.recoveryMode}\n${normalizeRecoveryCode(input.code) ?? input.code}`,
    async check ({ flow, factors, idempotencyKey }, input) {
      const code = canonicalCode(input.code)
      const res = await factors.call(verifyRecovery, { userId: flow.userId, flowId: flow.id, idempotencyKey, code, mode: input.recoveryMode }, { retryOnTimeout: true })
      if (res.result === 'rejected') return rejected(res.reason, res.attemptsLeft)
      if (input.recoveryMode === 'permanent') return { result: 'reset', reason: 'recovery' }
      return res.newCode === undefined ? { result: 'verified' } : { result: 'verified', answer: { newRecoveryCode: res.newCode } }
    },
  },

  // The wizard's last step: done once the user confirmed they stored the code (its item's `verified`).
  wizard: {
    steps: ['emergency-code'],
    progress: (s) => (s.available && s.items.some((i) => i.verified === true) ? 1 : 0),
  },

  // Mounted under /v1/me/recovery: '-code' is /v1/me/recovery-code (ARCHITECTURE §3).
  selfService: ({ factors, log, enrollStepUp, factorChanges }) => async (app) => {
    app.post('-code', {
      schema: {
        tags: ['me'],
        summary: 'Issue the emergency code (or a new one: the old one stops working in the same write); shown once',
        description: `No body. Needs another method set up first (the authenticator app). ${STEP_UP_NOTE} ${ENROLL_NOTE} Idempotency-Key: a retry after a lost reply gets the same code.`,
        security: bearerAndStepUp,
        headers: IdempotencyHeaders,
        response: { 200: RecoveryCodeAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req) => {
      const { sub } = principalOf(req)
      // The code backs up a second factor; alone it would make a user "have 2FA" with nothing else.
      const statuses = await factors.describeAll(sub)
      if (!statuses.some((s) => s.factor !== recovery.name && s.available && s.enrolled)) {
        if (statuses.some((s) => !s.available)) throw fail('UNAVAILABLE', 'cannot tell which methods the user has right now', { retryAfterSec: 5 })
        throw fail('NOT_ENROLLED', 'set up the authenticator app (or another method) before the emergency code')
      }
      const key = req.headers['idempotency-key']
      // A new code is a change of factor (revocation: remembered devices die with it).
      const issued = await factorChanges.bind(req, recovery.name,
        () => factors.call(issueRecoveryCode, { userId: sub, ...(typeof key === 'string' ? { idempotencyKey: key } : {}) }, { retryOnTimeout: typeof key === 'string' }),
        () => true)
      log.info({ factor: recovery.name, codeId: issued.codeId }, 'emergency code issued')
      return issued
    })

    app.post('-code/ack', {
      schema: {
        tags: ['me'],
        summary: 'Record "I have safely copied and stored this code." (the wizard is complete only after it); the code is never shown again',
        description: `${STEP_UP_NOTE} ${ENROLL_NOTE} With \`codeId\`, 409 CONFLICT if the code was replaced since it was shown.`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        body: RecoveryAckBody,
        response: { 200: RecoveryAckAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req) => {
      const { sub } = principalOf(req)
      return factors.call(acknowledgeRecoveryCode, { userId: sub, ...(req.body.codeId === undefined ? {} : { codeId: req.body.codeId }) })
    })
  },

  adminRoutes: ({ factors, log }) => async (app) => {
    app.post('/users/:sub/temporary-code', {
      schema: {
        tags: ['admin'],
        summary: 'Issue a one-time support code for a user (emergency-code format, ≤ 24 h); it also ends a lock of code recovery',
        description: 'Needs a primary token whose `role` claim is `warden:admin`. The user spends it where an emergency code goes (`method: "recovery"`), in either mode. Audited (`supportcode.issued`).',
        security: bearer,
        params: SupportCodeParams,
        body: SupportCodeBody,
        response: { 200: SupportCodeAnswer, ...errorResponses },
      },
      preValidation: async (req) => { req.body ??= {} },
    }, async (req) => {
      const ttlSec = req.body.ttlSec
      const issued = await factors.call(issueSupportCode, { userId: req.params.sub, ...(ttlSec === undefined ? {} : { ttlSec }) })
      log.info({ factor: recovery.name, userId: req.params.sub, codeId: issued.codeId, expiresAt: issued.expiresAt, by: principalOf(req).sub }, 'support code issued')
      return { code: issued.code, expiresAt: issued.expiresAt }
    })
  },
})
