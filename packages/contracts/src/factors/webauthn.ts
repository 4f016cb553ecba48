import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { FlowId, IdempotencyKey, Timestamp, UserId, VerifyRejected } from '../messages/common.js'
import { defineFactor } from './define.js'

// Security keys and passkeys (factor-webauthn). A new verb of this factor goes here, and in `endpoints`.

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

export const webauthn = defineFactor({
  name: 'webauthn',
  service: 'factor-webauthn',
  // The contract cannot tell a roaming key from a platform authenticator: hwk for both.
  amr: ['hwk'],
  fallback: false,
  describe: 'Security keys and passkeys of the user',
  endpoints: { options: webauthnOptions, verify: verifyWebauthn },
})
