import { recovery, RecoveryCode, verifyRecovery } from '@warden/contracts'
import { Type } from 'typebox'
import { NothingToSend, RememberDeviceFlag } from '../schema-parts.js'
import { defineStrategy, rejected } from './strategy.js'

// The one-time emergency code. Temporary loss: signed in once, with a new code (shown once, never
// logged). Permanent loss: the code resets 2FA (user.reset) and the user enrolls again.

export const recoveryStrategy = defineStrategy({
  factor: recovery,

  challenge: {
    body: Type.Object({ method: Type.Literal('recovery') }, { additionalProperties: false, title: 'recovery' }),
    answer: NothingToSend,
  },

  verify: {
    body: Type.Object({
      method: Type.Literal('recovery'),
      code: RecoveryCode,
      recoveryMode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent')], {
        description: 'temporary: sign in once and get a new emergency code. permanent: 2FA is reset (every factor and remembered device removed) and the answer is `reset` with an enrollment token',
      }),
      rememberDevice: RememberDeviceFlag,
    }, { additionalProperties: false, title: 'recovery', examples: [{ method: 'recovery', code: 'ABCD-EFGH-IJKL-MNOP', recoveryMode: 'temporary' }] }),
    // The mode is part of the answer: the same code with the other mode is another attempt.
    attemptAnswer: (input) => `${input.recoveryMode}\n${input.code}`,
    async check ({ flow, factors, idempotencyKey }, input) {
      const res = await factors.call(verifyRecovery, { userId: flow.userId, flowId: flow.id, idempotencyKey, code: input.code, mode: input.recoveryMode }, { retryOnTimeout: true })
      if (res.result === 'rejected') return rejected(res.reason, res.attemptsLeft)
      if (input.recoveryMode === 'permanent') return { result: 'reset', reason: 'recovery' }
      return res.newCode === undefined ? { result: 'verified' } : { result: 'verified', answer: { newRecoveryCode: res.newCode } }
    },
  },
})
