import { ajv } from '@warden/contracts'
import { Type } from 'typebox'

// The claims of the device-signed requests (ES256 JWTs, header typ "warden-push+jwt"). Each
// names its request (`req`), so a token made for one request cannot stand in for another. The
// service README documents them for app authors.

export const DEVICE_JWT_TYPE = 'warden-push+jwt'

const Jti = Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$', description: 'Single use' })
const Iat = Type.Integer({ minimum: 0, description: 'Seconds since the epoch; within 60 s of the server clock' })
/** Registered claims a JWT library may add on its own; never required, never trusted for time. */
const Optional = { exp: Type.Optional(Type.Integer()), nbf: Type.Optional(Type.Integer()) }
const DeviceId = Type.String({ pattern: '^dev_[A-Za-z0-9_-]{16,64}$' })

export const PairClaims = Type.Object({
  req: Type.Literal('pair'),
  iat: Iat,
  jti: Jti,
  pairingCode: Type.String({ pattern: '^[A-Za-z0-9_-]{22,64}$' }),
  name: Type.String({ minLength: 1, maxLength: 64 }),
  platform: Type.Union([Type.Literal('android'), Type.Literal('ios'), Type.Literal('cli'), Type.Literal('other')]),
  fcmToken: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^[\\x21-\\x7E]+$' })),
  ...Optional,
}, { additionalProperties: false })
export type PairClaims = Type.Static<typeof PairClaims>

export const ChallengesClaims = Type.Object({
  req: Type.Literal('challenges'),
  sub: DeviceId,
  iat: Iat,
  jti: Jti,
  ...Optional,
}, { additionalProperties: false })
export type ChallengesClaims = Type.Static<typeof ChallengesClaims>

export const AnswerClaims = Type.Object({
  req: Type.Literal('answer'),
  sub: DeviceId,
  iat: Iat,
  jti: Jti,
  challengeId: Type.String({ pattern: '^pch_[A-Za-z0-9_-]{16,64}$' }),
  nonce: Type.String({ pattern: '^[A-Za-z0-9_-]{22,64}$' }),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  /** The number the user typed; required to approve. */
  number: Type.Optional(Type.Integer({ minimum: 10, maximum: 99 })),
  contextHash: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
  /** With deny: "This wasn't me". */
  notMe: Type.Optional(Type.Boolean()),
  ...Optional,
}, { additionalProperties: false })
export type AnswerClaims = Type.Static<typeof AnswerClaims>

export const isPairClaims: (value: unknown) => value is PairClaims = ajv.compile<PairClaims>(PairClaims)
export const isChallengesClaims: (value: unknown) => value is ChallengesClaims = ajv.compile<ChallengesClaims>(ChallengesClaims)
export const isAnswerClaims: (value: unknown) => value is AnswerClaims = ajv.compile<AnswerClaims>(AnswerClaims)
