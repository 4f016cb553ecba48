import { FlowId, OpaqueId, push, pushStatus, startPush, Timestamp } from '@warden/contracts'
import { Type } from 'typebox'
import { principalOf } from '../plugins/auth.js'
import { bearer, errorResponses, EXAMPLE_JWT, EXAMPLE_TIME, MfaTokenAnswer, RememberDeviceFlag, RememberToken } from '../schema-parts.js'
import { defineStrategy } from './strategy.js'

// Push with number matching: the challenge sends the request to the paired app, and the user's
// answer arrives there, so the sign-in follows it with a long-poll instead of POST /verify.
// "Remember this device" is asked when the push is sent, since the long-poll has no body.

export const PushParams = Type.Object({ transactionId: FlowId, challengeId: OpaqueId }, { additionalProperties: false })

export const PushQuery = Type.Object({
  waitSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 25, default: 0, description: 'Long-poll: answer as soon as the state leaves pending, or after this many seconds' })),
}, { additionalProperties: false })

export const PushAnswer = Type.Union([
  Type.Object({
    state: Type.Literal('approved'),
    token: MfaTokenAnswer,
    rememberToken: Type.Optional(RememberToken),
  }, { additionalProperties: false, description: 'The transaction is verified (amr pop, mfa)' }),
  Type.Object({
    state: Type.Union([Type.Literal('pending'), Type.Literal('denied'), Type.Literal('expired')]),
  }, { additionalProperties: false, description: 'pending: poll again. denied or expired: "Try push again" (a new challenge) or "Try another way"' }),
], { examples: [{ state: 'pending' }, { state: 'approved', token: EXAMPLE_JWT }, { state: 'denied' }] })
export type PushAnswer = Type.Static<typeof PushAnswer>

export const pushStrategy = defineStrategy({
  factor: push,

  challenge: {
    body: Type.Object({
      method: Type.Literal('push'),
      deviceId: Type.Optional(OpaqueId),
      rememberDevice: RememberDeviceFlag,
    }, {
      additionalProperties: false,
      title: 'push',
      description: 'Push to the paired app (all devices, or `deviceId`). `rememberDevice` is asked here: the approval carries the rememberToken',
      examples: [{ method: 'push', rememberDevice: true }],
    }),
    answer: Type.Object({
      challengeId: OpaqueId,
      expiresAt: Timestamp,
      numberToMatch: Type.Integer({ minimum: 10, maximum: 99, description: 'Show it: the user picks it in the app' }),
    }, { additionalProperties: false, title: 'push', examples: [{ challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', expiresAt: EXAMPLE_TIME, numberToMatch: 42 }] }),
    async start ({ flow, factors }, input) {
      const res = await factors.call(startPush, {
        userId: flow.userId,
        flowId: flow.id,
        ...(input.deviceId === undefined ? {} : { deviceId: input.deviceId }),
        // What the app shows about the sign-in it asks the user to approve.
        context: {
          appName: flow.clientId.slice(0, 100),
          ...(flow.ip === undefined ? {} : { ip: flow.ip.slice(0, 45) }),
          ...(flow.context?.userAgent === undefined ? {} : { userAgent: flow.context.userAgent.slice(0, 300) }),
        },
      })
      return {
        answer: res,
        expiresAt: res.expiresAt,
        data: {
          challengeId: res.challengeId,
          ...(input.deviceId === undefined ? {} : { deviceId: input.deviceId }),
          // "Remember this device" never comes with a step-up.
          ...(input.rememberDevice === true && flow.purpose === 'signin' ? { rememberDevice: true } : {}),
        },
      }
    },
  },

  follow: {
    isActive: (data, challengeId) => data.challengeId === challengeId,
    async poll ({ flow, factors, data, waitMs }) {
      const { state } = await factors.call(pushStatus, { userId: flow.userId, flowId: flow.id, challengeId: String(data.challengeId), waitMs }, { extraTimeoutMs: waitMs })
      if (state === 'approved') return { result: 'verified', state, rememberDevice: data.rememberDevice === true }
      // A denial counts as a failed attempt; expired only ends this push ("Try push again").
      return state === 'denied' ? { result: 'rejected', state } : { result: 'open', state }
    },
  },

  activeView: (data) => (typeof data.challengeId === 'string' ? { challengeId: data.challengeId } : {}),

  signinRoutes: ({ signin }) => async (app) => {
    app.get('/:transactionId/push/:challengeId', {
      schema: {
        tags: ['signin'],
        summary: 'Push long-poll: pending, approved (with the MFA token), denied or expired',
        description: 'Waits up to `waitSec` seconds (0-25) for the user to answer in the app. `approved` consumes the transaction (amr pop, mfa), and carries a `rememberToken` when the push was started with `rememberDevice: true`. A challenge that is not this transaction\'s active push is 404.',
        security: bearer,
        params: PushParams,
        querystring: PushQuery,
        response: { 200: PushAnswer, ...errorResponses },
      },
    }, async (req) => await signin.follow(principalOf(req), req.params.transactionId, push.name, req.params.challengeId, req.query.waitSec ?? 0, { peerIp: req.ip }) as PushAnswer)
  },
})
