import { verifyWebauthn, webauthn, webauthnOptions } from '@warden/contracts'
import { Type } from 'typebox'
import { RememberDeviceFlag } from '../schema-parts.js'
import { defineStrategy, rejected } from './strategy.js'

// Security keys and passkeys: the challenge makes the options for navigator.credentials.get(),
// verify checks the assertion.

const WebauthnResponse = Type.Object({}, { additionalProperties: true, maxProperties: 20, description: 'AuthenticationResponseJSON from navigator.credentials.get()' })

export const webauthnStrategy = defineStrategy({
  factor: webauthn,

  challenge: {
    body: Type.Object({ method: Type.Literal('webauthn') }, { additionalProperties: false, title: 'webauthn' }),
    answer: Type.Object({
      options: Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get()' }),
    }, { additionalProperties: false, title: 'webauthn' }),
    async start ({ flow, factors }) {
      const res = await factors.call(webauthnOptions, { userId: flow.userId, flowId: flow.id })
      return { answer: { options: res.options } }
    },
  },

  verify: {
    body: Type.Object({ method: Type.Literal('webauthn'), response: WebauthnResponse, rememberDevice: RememberDeviceFlag }, { additionalProperties: false, title: 'webauthn' }),
    attemptAnswer: (input) => JSON.stringify(input.response),
    async check ({ flow, factors, idempotencyKey }, input) {
      const res = await factors.call(verifyWebauthn, { userId: flow.userId, flowId: flow.id, idempotencyKey, response: input.response }, { retryOnTimeout: true })
      return res.result === 'verified' ? { result: 'verified' } : rejected(res.reason, res.attemptsLeft)
    },
  },
})
