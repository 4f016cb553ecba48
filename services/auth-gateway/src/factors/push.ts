import {
  answerPush, AnswerPushResponse, createPairing, DeviceJwt, FlowId, listDevices, OpaqueId, PendingPushChallenge, push, PushDevice,
  PushDeviceId, PushDeviceName, pushStatus, registerDevice, pendingChallenges, renameDevice, startPush, Timestamp, unpairDevice,
} from '@warden/contracts'
import type { FastifyRequest } from 'fastify'
import QRCode from 'qrcode'
import { Type } from 'typebox'
import { fail } from '../errors.js'
import { principalOf } from '../plugins/auth.js'
import {
  bearer, bearerAndStepUp, ENROLL_NOTE, errorResponses, EXAMPLE_JWT, EXAMPLE_TIME, MfaHeaders, MfaTokenAnswer, RememberDeviceFlag,
  RememberToken, RemoveAnswer, STEP_UP_NOTE,
} from '../schema-parts.js'
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
    state: Type.Union([Type.Literal('pending'), Type.Literal('expired')]),
  }, { additionalProperties: false, description: 'pending: poll again. expired: "Try push again" (a new challenge) or "Try another way"' }),
  Type.Object({
    state: Type.Literal('denied'),
    reason: Type.Optional(Type.Union([Type.Literal('denied'), Type.Literal('not_me'), Type.Literal('wrong_number')], {
      description: 'denied in the app; not_me: "This wasn\'t me"; wrong_number: the number typed in the app was not the one shown',
    })),
  }, { additionalProperties: false, description: 'Counted as a failed attempt: "Try push again" or "Try another way"' }),
], { examples: [{ state: 'pending' }, { state: 'approved', token: EXAMPLE_JWT }, { state: 'denied', reason: 'wrong_number' }] })
export type PushAnswer = Type.Static<typeof PushAnswer>

export const PairingAnswer = Type.Object({
  pairingCode: Type.String({ description: 'One-time code (128 bits, 10 minutes)' }),
  pairingUri: Type.String({ description: 'warden://pair?server=<gateway URL>&code=<code>&account=<name>: what the QR holds' }),
  qrSvg: Type.String({ description: 'SVG of the pairing link' }),
  expiresAt: Timestamp,
}, {
  additionalProperties: false,
  examples: [{ pairingCode: 'C2x0ZWFtcGxlLWNvZGUtMTI4', pairingUri: 'warden://pair?server=https%3A%2F%2Fwarden.example.com&code=C2x0ZWFtcGxlLWNvZGUtMTI4&account=alice', qrSvg: '<svg xmlns="http://www.w3.org/2000/svg">…</svg>', expiresAt: EXAMPLE_TIME }],
})
export type PairingAnswer = Type.Static<typeof PairingAnswer>

const EXAMPLE_DEVICE = { deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA', name: 'Pixel 8', platform: 'android', createdAt: EXAMPLE_TIME, active: true, notifications: true }

/** A paired device, as the settings show it. */
export const DeviceView = Type.Object({ ...PushDevice.properties }, { additionalProperties: false, examples: [EXAMPLE_DEVICE] })
const DeviceList = Type.Object({ devices: Type.Array(DeviceView) }, { additionalProperties: false, examples: [{ devices: [EXAMPLE_DEVICE] }] })
const Paired = Type.Object({ deviceId: PushDeviceId }, { additionalProperties: false, examples: [{ deviceId: EXAMPLE_DEVICE.deviceId }] })
const PendingList = Type.Object({ challenges: Type.Array(PendingPushChallenge) }, {
  additionalProperties: false,
  examples: [{ challenges: [{ challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', nonce: 'Tm9uY2VFeGFtcGxlVmFsdWVB', createdAt: EXAMPLE_TIME, expiresAt: EXAMPLE_TIME, context: { appName: 'payroll', ip: '203.0.113.7', userAgent: 'Firefox on Linux' } }] }],
})
const AnswerView = Type.Union([...AnswerPushResponse.anyOf], { examples: [{ result: 'approved' }, { result: 'rejected', reason: 'wrong_number', attemptsLeft: 9 }] })
const DEVICE_SECURITY: Array<Record<string, string[]>> = []

const DeviceParams = Type.Object({ deviceId: PushDeviceId }, { additionalProperties: false })

const DEVICE_NOTE = 'No user token: the request is one ES256 JWT signed by the device key (typ warden-push+jwt, iat within 60 s, single-use jti) in `Authorization: Bearer`, and no body. Format: services/factor-push/README.md.'

/** The pairing link an authenticator app scans: where the gateway is, and the one-time code. */
export function pairingLink (server: string, code: string, account: string): string {
  return `warden://pair?${new URLSearchParams({ server: server.replace(/\/+$/, ''), code, account }).toString()}`
}

/** The gateway's origin as the browser reached it, when PUBLIC_URL does not say. */
function originOf (req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`
}

/** The device-signed request of an app route; anything else is 401. */
function deviceJwt (req: FastifyRequest): string {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')
  const jwt = m?.[1]
  if (jwt === undefined || !isDeviceJwt(jwt)) throw fail('UNAUTHENTICATED', 'a device-signed JWT is required in Authorization: Bearer')
  return jwt
}
const DEVICE_JWT = new RegExp((DeviceJwt as { pattern?: string }).pattern ?? '^$')
const isDeviceJwt = (jwt: string): boolean => jwt.length >= 20 && jwt.length <= 8192 && DEVICE_JWT.test(jwt)

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
        // A step-up's action: the app shows it, the answer signs it, the MFA token carries it.
        ...(flow.action === undefined ? {} : { action: flow.action }),
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
      const res = await factors.call(pushStatus, { userId: flow.userId, flowId: flow.id, challengeId: String(data.challengeId), waitMs }, { extraTimeoutMs: waitMs })
      if (res.state === 'approved') {
        // Transaction binding: the app approved exactly this transaction's action (or none).
        if (res.action !== flow.action) return { result: 'rejected', state: 'denied' }
        return { result: 'verified', state: res.state, rememberDevice: data.rememberDevice === true }
      }
      // A denial counts as a failed attempt; expired only ends this push ("Try push again").
      if (res.state === 'denied') return res.reason === undefined ? { result: 'rejected', state: 'denied' } : { result: 'rejected', state: 'denied', reason: res.reason }
      return { result: 'open', state: res.state }
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
  selfService: ({ factors, enrollStepUp, stepUp, log, publicUrl, factorChanges }) => async (app) => {
    app.post('/pairing', {
      schema: {
        tags: ['me'],
        summary: 'Pair the authenticator app: a one-time code (10 minutes), its warden://pair link and a QR code of it',
        description: `No body. The app scans the QR (or takes the link) and pairs with POST /v1/push/devices. ${STEP_UP_NOTE} ${ENROLL_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        response: { 200: PairingAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req): Promise<PairingAnswer> => {
      const principal = principalOf(req)
      // The pairing code is the binding secret: the device that presents it binds without a user
      // token, so the binding's revocations (first factor, remembered devices) happen here.
      const { pairingCode, expiresAt } = await factorChanges.bind(req, push.name, () => factors.call(createPairing, { userId: principal.sub }), () => true)
      const pairingUri = pairingLink(publicUrl ?? originOf(req), pairingCode, principal.accountName)
      log.info({ factor: push.name }, 'pairing code issued')
      return { pairingCode, pairingUri, qrSvg: await QRCode.toString(pairingUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }), expiresAt }
    })

    app.get('/devices', {
      schema: {
        tags: ['me'], summary: 'The paired devices of the authenticator app', security: bearer,
        response: { 200: DeviceList, ...errorResponses },
      },
    }, async (req) => factors.call(listDevices, { userId: principalOf(req).sub }))

    app.get('/devices/:deviceId', {
      schema: { tags: ['me'], summary: 'One paired device', security: bearer, params: DeviceParams, response: { 200: DeviceView, ...errorResponses } },
    }, async (req) => {
      const { devices } = await factors.call(listDevices, { userId: principalOf(req).sub })
      const device = devices.find((d) => d.deviceId === req.params.deviceId)
      if (device === undefined) throw fail('NOT_FOUND', 'no such device')
      return device
    })

    app.patch('/devices/:deviceId', {
      schema: {
        tags: ['me'], summary: 'Rename a paired device', description: STEP_UP_NOTE, security: bearerAndStepUp, headers: MfaHeaders,
        params: DeviceParams, body: Type.Object({ name: PushDeviceName }, { additionalProperties: false, examples: [{ name: 'Work phone' }] }),
        response: { 200: DeviceView, ...errorResponses },
      },
      preHandler: stepUp,
    }, async (req) => factors.call(renameDevice, { userId: principalOf(req).sub, deviceId: req.params.deviceId, name: req.body.name }))

    app.delete('/devices/:deviceId', {
      schema: {
        tags: ['me'], summary: 'Remove a paired device: it can no longer approve', description: STEP_UP_NOTE, security: bearerAndStepUp, headers: MfaHeaders,
        params: DeviceParams, response: { 200: RemoveAnswer, ...errorResponses },
      },
      preHandler: stepUp,
    }, async (req) => factorChanges.remove(req, push.name, () => factors.call(unpairDevice, { userId: principalOf(req).sub, deviceId: req.params.deviceId })))
  },

  deviceRoutes: ({ factors }) => async (app) => {
    app.post('/devices', {
      schema: {
        tags: ['authenticator app'],
        summary: 'The app pairs: a JWT signed by its new P-256 key (in the `jwk` header), claims {req: "pair", pairingCode, name, platform, fcmToken?}',
        description: DEVICE_NOTE,
        security: DEVICE_SECURITY,
        response: { 200: Paired, ...errorResponses },
      },
    }, async (req) => factors.call(registerDevice, { jwt: deviceJwt(req) }))

    app.get('/devices/:deviceId/challenges', {
      schema: {
        tags: ['authenticator app'],
        summary: 'The challenges waiting for this device, with what they are for (never the number); claims {req: "challenges", sub: deviceId}',
        description: DEVICE_NOTE,
        security: DEVICE_SECURITY,
        params: DeviceParams,
        response: { 200: PendingList, ...errorResponses },
      },
    }, async (req) => factors.call(pendingChallenges, { deviceId: req.params.deviceId, jwt: deviceJwt(req) }))

    app.post('/challenges/:challengeId/answer', {
      schema: {
        tags: ['authenticator app'],
        summary: 'Approve or deny: claims {req: "answer", sub, challengeId, nonce, decision, number?, contextHash, notMe?}',
        description: `${DEVICE_NOTE} The first valid answer wins; a wrong number ends the challenge.`,
        security: DEVICE_SECURITY,
        params: Type.Object({ challengeId: OpaqueId }, { additionalProperties: false }),
        response: { 200: AnswerView, ...errorResponses },
      },
    }, async (req) => factors.call(answerPush, { challengeId: req.params.challengeId, jwt: deviceJwt(req) }))
  },
})
