import { DescribeResponse, FactorName, FlowId, OpaqueId, SixDigitCode, Timestamp } from '@warden/contracts'
import { Type } from 'typebox'
import { ErrorResponse } from './errors.js'

/**
 * The REST schemas: validation, serialization and the OpenAPI document all come from these.
 * Bodies refuse unknown properties; nothing is coerced (a number is not a code).
 */

const Jwt = Type.String({ maxLength: 8192, description: 'A compact JWS' })

// ---- shared ------------------------------------------------------------------------------------

export const FactorItem = DescribeResponse.properties.items.items

export const MethodView = Type.Object({
  method: FactorName,
  available: Type.Boolean({ description: 'false when the factor service did not answer in time' }),
  lockedUntil: Type.Optional(Timestamp),
  items: Type.Array(FactorItem, { description: 'Devices, keys or masked phones, for the method chooser' }),
}, { additionalProperties: false })
export type MethodView = Type.Static<typeof MethodView>

/** The error answers every route documents. */
export const errorResponses = {
  '4xx': ErrorResponse,
  '5xx': ErrorResponse,
} as const

// ---- demo IdP ----------------------------------------------------------------------------------

export const DemoLoginBody = Type.Object({
  username: Type.String({ pattern: '^[a-z0-9._-]{1,64}$', description: 'Any username; `admin` gets role warden:admin' }),
  password: Type.String({ minLength: 1, maxLength: 200, description: 'Always `demo`' }),
  clientId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'Becomes `azp`; default demo-app' })),
}, { additionalProperties: false })

export const DemoLoginAnswer = Type.Object({ token: Jwt }, { additionalProperties: false })

// ---- sign-in -----------------------------------------------------------------------------------

export const SigninBody = Type.Object({
  purpose: Type.Optional(Type.Union([Type.Literal('signin'), Type.Literal('step-up')], { description: 'Default signin' })),
  action: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$', description: 'What a step-up is for; copied into the MFA token' })),
  context: Type.Optional(Type.Object({
    ip: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f:.]{2,45}$' })),
    userAgent: Type.Optional(Type.String({ maxLength: 512 })),
  }, { additionalProperties: false })),
}, { additionalProperties: false, description: 'An empty body is allowed' })

export const SigninStart = Type.Union([
  Type.Object({
    status: Type.Literal('challenge'),
    transactionId: FlowId,
    expiresAt: Timestamp,
    methods: Type.Array(MethodView),
    defaultMethod: FactorName,
  }, { additionalProperties: false }),
  Type.Object({
    status: Type.Literal('not_required'),
    token: Type.String({ maxLength: 8192, description: 'MFA token with acr aal1 and no amr: no second factor was asked' }),
  }, { additionalProperties: false }),
])
export type SigninStart = Type.Static<typeof SigninStart>

export const TransactionParams = Type.Object({ transactionId: FlowId }, { additionalProperties: false })

export const SigninView = Type.Object({
  transactionId: FlowId,
  status: Type.Union([Type.Literal('challenge'), Type.Literal('verified')]),
  purpose: Type.Union([Type.Literal('signin'), Type.Literal('step-up')]),
  action: Type.Optional(Type.String()),
  expiresAt: Timestamp,
  methods: Type.Array(MethodView, { description: 'Every method of this transaction, with fresh lock state ("Try another way")' }),
  defaultMethod: Type.Optional(FactorName),
}, { additionalProperties: false })
export type SigninView = Type.Static<typeof SigninView>

// One payload schema per method; the next factors add theirs to this union.
export const VerifyBody = Type.Union([
  Type.Object({ method: Type.Literal('totp'), code: SixDigitCode }, { additionalProperties: false }),
])

export const VerifyAnswer = Type.Union([
  Type.Object({
    status: Type.Literal('verified'),
    token: Type.String({ maxLength: 8192, description: 'MFA token: ES256, kid at /.well-known/jwks.json, aud = the application, amr per RFC 8176, acr aal2' }),
  }, { additionalProperties: false }),
  Type.Object({
    status: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('invalid_code'), Type.Literal('replayed'), Type.Literal('clock_skew')]),
    attemptsLeft: Type.Optional(Type.Integer({ minimum: 0, description: 'Failures left before the factor locks' })),
  }, { additionalProperties: false }),
], { description: 'A wrong code is an answer (200), not an error' })
export type VerifyAnswer = Type.Static<typeof VerifyAnswer>

// ---- self-service ------------------------------------------------------------------------------

export const MfaHeaders = Type.Object({
  'x-mfa-token': Type.Optional(Type.String({ maxLength: 8192, description: 'MFA token, needed once the user has 2FA (step-up, ≤10 min)' })),
})

export const FactorsView = Type.Object({
  twoFactor: Type.Union([Type.Literal('enrolled'), Type.Literal('none'), Type.Literal('unknown')], {
    description: 'unknown: a factor service did not answer, so it cannot be told',
  }),
  factors: Type.Array(Type.Union([
    Type.Object({
      factor: FactorName,
      available: Type.Literal(true),
      enrolled: Type.Boolean(),
      createdAt: Type.Optional(Timestamp),
      lockedUntil: Type.Optional(Timestamp),
      items: Type.Array(FactorItem),
    }, { additionalProperties: false }),
    Type.Object({
      factor: FactorName,
      available: Type.Literal(false, { description: 'The factor service did not answer in time' }),
    }, { additionalProperties: false }),
  ])),
}, { additionalProperties: false })
export type FactorsView = Type.Static<typeof FactorsView>

export const EnrollAnswer = Type.Object({
  enrollmentId: OpaqueId,
  secret: Type.String({ description: 'Base32 secret for manual entry' }),
  otpauthUri: Type.String(),
  qrSvg: Type.String({ description: 'SVG of the otpauth URI' }),
  expiresAt: Timestamp,
}, { additionalProperties: false })
export type EnrollAnswer = Type.Static<typeof EnrollAnswer>

export const ConfirmBody = Type.Object({ enrollmentId: OpaqueId, code: SixDigitCode }, { additionalProperties: false })

export const ConfirmAnswer = Type.Union([
  Type.Object({ status: Type.Literal('confirmed'), confirmedAt: Timestamp }, { additionalProperties: false }),
  Type.Object({
    status: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('invalid_code'), Type.Literal('clock_skew')]),
    offsetSec: Type.Optional(Type.Integer({ description: 'Approximate clock offset of the device, for clock_skew' })),
  }, { additionalProperties: false }),
], { description: 'A wrong code is an answer (200 with status rejected), as at sign-in' })
export type ConfirmAnswer = Type.Static<typeof ConfirmAnswer>

export const RemoveAnswer = Type.Object({ removed: Type.Boolean({ description: 'false when there was nothing to remove' }) }, { additionalProperties: false })

// ---- keys --------------------------------------------------------------------------------------

export const JwksAnswer = Type.Object({
  keys: Type.Array(Type.Object({
    kty: Type.Literal('EC'),
    crv: Type.Literal('P-256'),
    x: Type.String(),
    y: Type.String(),
    kid: Type.String(),
    alg: Type.Literal('ES256'),
    use: Type.Literal('sig'),
  }, { additionalProperties: false })),
}, { additionalProperties: false })
