import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { FlowId, OpaqueId, Timestamp, UserId } from '../messages/common.js'
import { defineFactor } from './define.js'

// Push approval with number matching, to the paired authenticator app (factor-push). The gateway
// speaks these verbs from the start; until factor-push implements them it answers NOT_ENROLLED,
// since nobody can be enrolled in it. A new verb of this factor goes here, and in `endpoints`.

/** What the user is told about the sign-in they are approving. No secrets. */
export const SigninContext = Type.Object({
  appName: Type.String({ minLength: 1, maxLength: 100 }),
  ip: Type.Optional(Type.String({ maxLength: 45 })),
  userAgent: Type.Optional(Type.String({ maxLength: 300 })),
}, { additionalProperties: false })

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

export const push = defineFactor({
  name: 'push',
  service: 'factor-push',
  // A signed answer from the paired app's key, hardware-backed or not: RFC 8176 `pop`.
  amr: ['pop'],
  fallback: false,
  describe: 'Paired authenticator-app devices of the user',
  endpoints: { challenge: startPush, status: pushStatus },
})
