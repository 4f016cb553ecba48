import { Type } from 'typebox'
import { defineEndpoint, defineEvent } from '../endpoint.js'
import { EventEnvelope, FlowId, NotifyUserRequest, NotifyUserResponse, OpaqueId, Timestamp, UserId, UserRequest } from '../messages/common.js'
import { defineFactor } from './define.js'

// Push approval with number matching, to the paired authenticator app (factor-push): sign-in
// (challenge, status), pairing and devices for the signed-in user, and the app's own
// device-signed requests (register, pending, answer). A new verb of this factor goes here, and in
// `endpoints`.

/** What the user is told about the sign-in they are approving. No secrets. */
export const SigninContext = Type.Object({
  appName: Type.String({ minLength: 1, maxLength: 100 }),
  ip: Type.Optional(Type.String({ maxLength: 45 })),
  userAgent: Type.Optional(Type.String({ maxLength: 300 })),
}, { additionalProperties: false })

/** A step-up's action, shown in the app and bound into the answer's signature and the MFA token. */
export const PushAction = Type.String({ minLength: 1, maxLength: 200, description: 'The step-up action the user approves' })

export const StartPushRequest = Type.Object({
  userId: UserId, flowId: FlowId, deviceId: Type.Optional(OpaqueId), context: SigninContext, action: Type.Optional(PushAction),
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
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'NOT_FOUND', 'RATE_LIMITED', 'FACTOR_LOCKED', 'PROVIDER_UNAVAILABLE', 'UNAVAILABLE', 'INTERNAL'],
})

export const PushStatusRequest = Type.Object({
  userId: UserId, flowId: FlowId, challengeId: OpaqueId,
  waitMs: Type.Integer({ minimum: 0, maximum: 25_000, description: 'Long-poll: answer as soon as the state leaves pending, or after this long' }),
}, { additionalProperties: false })
export const PushStatusResponse = Type.Object({
  state: Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('denied'), Type.Literal('expired')]),
  reason: Type.Optional(Type.Union([Type.Literal('denied'), Type.Literal('not_me'), Type.Literal('wrong_number')], { description: 'Why a push was denied' })),
  action: Type.Optional(PushAction),
}, { additionalProperties: false })
export const pushStatus = defineEndpoint({
  subject: 'warden.push.v1.status',
  summary: 'State of a push challenge (long-poll); approved is reported once per challenge, with the action it approved',
  request: PushStatusRequest, response: PushStatusResponse,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- pairing and devices (the gateway, for a signed-in user) ------------------------------------

export const PushPlatform = Type.Union([Type.Literal('android'), Type.Literal('ios'), Type.Literal('cli'), Type.Literal('other')])
export const PushDeviceId = Type.String({ pattern: '^dev_[A-Za-z0-9_-]{16,64}$', description: 'A paired device' })
/** A device's name as shown: no control or line-break characters, not only spaces. */
export const PushDeviceName = Type.String({ minLength: 1, maxLength: 64, pattern: '^(?=.*\\S)[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]+$' })

export const PairingResponse = Type.Object({
  pairingCode: Type.String({ pattern: '^[A-Za-z0-9_-]{22,64}$', description: '128 random bits; single use; goes into the pairing URI and QR' }),
  expiresAt: Timestamp,
}, { additionalProperties: false })
export const createPairing = defineEndpoint({
  subject: 'warden.push.v1.pairing',
  summary: 'A one-time pairing code (10 minutes) for the user\'s authenticator app',
  request: UserRequest, response: PairingResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

export const PushDevice = Type.Object({
  deviceId: PushDeviceId,
  name: PushDeviceName,
  platform: PushPlatform,
  createdAt: Timestamp,
  active: Type.Boolean({ description: 'false once FCM said the app is gone: no longer asked' }),
  notifications: Type.Boolean({ description: 'Pushes wake the app (FCM); otherwise it polls' }),
}, { additionalProperties: false })
export const listDevices = defineEndpoint({
  subject: 'warden.push.v1.devices',
  summary: 'The user\'s paired devices',
  request: UserRequest, response: Type.Object({ devices: Type.Array(PushDevice, { maxItems: 50 }) }, { additionalProperties: false }),
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})
export const renameDevice = defineEndpoint({
  subject: 'warden.push.v1.rename',
  summary: 'Rename one of the user\'s devices',
  request: Type.Object({ userId: UserId, deviceId: PushDeviceId, name: PushDeviceName }, { additionalProperties: false }),
  response: PushDevice,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL'],
})
export const unpairDevice = defineEndpoint({
  subject: 'warden.push.v1.unpair',
  summary: 'Remove one of the user\'s devices: it can no longer answer',
  request: Type.Object({ userId: UserId, deviceId: PushDeviceId }, { additionalProperties: false }),
  response: Type.Object({ removed: Type.Boolean() }, { additionalProperties: false }),
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- the authenticator app (device-signed; the gateway passes the JWT through) ------------------

/** One ES256 JWT signed by the device key, carrying the request (services/factor-push/README.md). */
export const DeviceJwt = Type.String({ minLength: 20, maxLength: 8192, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$', description: 'A device-signed request (compact JWS)' })

export const registerDevice = defineEndpoint({
  subject: 'warden.push.v1.register',
  summary: 'The app pairs: a JWT signed by its new P-256 key (in the header) carrying the pairing code',
  request: Type.Object({ jwt: DeviceJwt }, { additionalProperties: false }),
  response: Type.Object({ deviceId: PushDeviceId }, { additionalProperties: false }),
  errors: ['BAD_REQUEST', 'UNAUTHENTICATED', 'NOT_FOUND', 'ENROLLMENT_EXPIRED', 'CONFLICT', 'LIMIT_REACHED', 'UNAVAILABLE', 'INTERNAL'],
})

export const PendingPushChallenge = Type.Object({
  challengeId: OpaqueId,
  nonce: Type.String({ pattern: '^[A-Za-z0-9_-]{22,64}$', description: 'Signed back in the answer' }),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  context: Type.Object({
    appName: Type.String({ minLength: 1, maxLength: 100 }),
    ip: Type.Optional(Type.String({ maxLength: 45 })),
    userAgent: Type.Optional(Type.String({ maxLength: 300 })),
    action: Type.Optional(PushAction),
  }, { additionalProperties: false, description: 'Exactly what the app shows, and what contextHash covers. Never the number' }),
}, { additionalProperties: false })
export const pendingChallenges = defineEndpoint({
  subject: 'warden.push.v1.pending',
  summary: 'The app\'s signed poll: the challenges waiting for this device, with their context',
  request: Type.Object({ deviceId: PushDeviceId, jwt: DeviceJwt }, { additionalProperties: false }),
  response: Type.Object({ challenges: Type.Array(PendingPushChallenge, { maxItems: 20 }) }, { additionalProperties: false }),
  errors: ['BAD_REQUEST', 'UNAUTHENTICATED', 'UNAVAILABLE', 'INTERNAL'],
})

export const AnswerPushResponse = Type.Union([
  Type.Object({ result: Type.Union([Type.Literal('approved'), Type.Literal('denied')]) }, { additionalProperties: false }),
  Type.Object({
    result: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('wrong_number'), Type.Literal('expired'), Type.Literal('already_answered'), Type.Literal('context_mismatch')]),
    attemptsLeft: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false }),
])
export const answerPush = defineEndpoint({
  subject: 'warden.push.v1.answer',
  summary: 'The app\'s signed answer over (challengeId, nonce, decision, number, contextHash); the first valid answer wins',
  request: Type.Object({ challengeId: OpaqueId, jwt: DeviceJwt }, { additionalProperties: false }),
  response: AnswerPushResponse,
  errors: ['BAD_REQUEST', 'UNAUTHENTICATED', 'NOT_FOUND', 'RATE_LIMITED', 'FACTOR_LOCKED', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- notices (the notifier: security notifications, not sign-in requests) ---------------------

export const notifyPush = defineEndpoint({
  subject: 'warden.push.v1.notify',
  summary: 'Send a notice (not a sign-in request) to the user\'s active paired devices through FCM; answers how many it reached',
  request: NotifyUserRequest, response: NotifyUserResponse,
  errors: ['BAD_REQUEST', 'PROVIDER_UNAVAILABLE', 'UNAVAILABLE', 'INTERNAL'],
})

/** Denials paused push for a while: the MFA-fatigue breaker tripped (SECURITY.md §2). */
export const pushPaused = defineEvent({
  subject: 'warden.events.v1.push.paused',
  summary: 'Denied push requests paused push for a user; notMe: a denial said "This wasn\'t me"',
  payload: Type.Object({ ...EventEnvelope, pausedUntil: Timestamp, notMe: Type.Boolean() }, { additionalProperties: false }),
})

export const push = defineFactor({
  name: 'push',
  service: 'factor-push',
  // A signed answer from the paired app's key, hardware-backed or not: RFC 8176 `pop`.
  amr: ['pop'],
  fallback: false,
  describe: 'Paired authenticator-app devices of the user',
  endpoints: {
    challenge: startPush, status: pushStatus, pairing: createPairing, devices: listDevices, rename: renameDevice,
    unpair: unpairDevice, register: registerDevice, pending: pendingChallenges, answer: answerPush, notify: notifyPush,
  },
})
