import { FactorName, FlowId, MfaPublicJwk, OpaqueId, Timestamp } from '@warden/contracts'
import { Type } from 'typebox'
import { enrollmentStepsExample, factorListExample, startMethodsExample, viewMethodsExample } from './factors/examples.js'
import { STRATEGIES, STRATEGY_LIST } from './factors/index.js'
import type { ChallengeInputOf, VerifyInputOf } from './factors/strategy.js'
import {
  EXAMPLE_JWT, EXAMPLE_RD, EXAMPLE_TIME, EXAMPLE_TXN, FactorItem, Jwt, MfaJwt, MfaTokenAnswer, RememberToken,
} from './schema-parts.js'

/**
 * The REST schemas: validation, serialization and the OpenAPI document all come from these.
 * Bodies refuse unknown properties; nothing is coerced (a number is not a code). What differs per
 * method (the challenge and verify bodies, the challenge answers) comes from the strategies
 * (src/factors/), and the unions here are built from their registry.
 */

export { errorResponses, FactorItem, MfaHeaders, RememberToken, RemoveAnswer } from './schema-parts.js'

// ---- shared ------------------------------------------------------------------------------------

export const MethodView = Type.Object({
  method: FactorName,
  available: Type.Boolean({ description: 'false when the factor service did not answer in time' }),
  createdAt: Type.Optional(Timestamp),
  lockedUntil: Type.Optional(Timestamp),
  items: Type.Array(FactorItem, { description: 'Devices, keys or masked phones, for the method chooser' }),
}, { additionalProperties: false })
export type MethodView = Type.Static<typeof MethodView>

// ---- demo IdP ----------------------------------------------------------------------------------

export const DemoLoginBody = Type.Object({
  username: Type.String({ pattern: '^[a-z0-9._-]{1,64}$', description: 'Any username; `admin` gets role warden:admin' }),
  password: Type.String({ minLength: 1, maxLength: 200, description: 'Always `demo`' }),
  clientId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'Becomes `azp`; default demo-app' })),
}, { additionalProperties: false, examples: [{ username: 'alice', password: 'demo' }, { username: 'admin', password: 'demo', clientId: 'console' }] })

export const DemoLoginAnswer = Type.Object({ token: Jwt }, { additionalProperties: false, examples: [{ token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl' }] })

// ---- sign-in -----------------------------------------------------------------------------------

/** What a step-up is for, e.g. `change-bank-details`: lower case, copied into the MFA token as `action`. */
export const Action = Type.String({ pattern: '^[a-z0-9][a-z0-9._:-]{0,63}$', description: 'What the step-up is for; copied into the MFA token as `action`', examples: ['change-bank-details'] })

const SigninContextBody = Type.Object({
  ip: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f:.]{2,45}$', description: 'The user\'s IP as the application saw it; the adaptive policy judges its /24 (IPv4) or /48 (IPv6). Default: the IP of this request' })),
  userAgent: Type.Optional(Type.String({ maxLength: 512, description: 'Shown to the user in a push request; the label of a remembered device' })),
}, { additionalProperties: false })

export const SigninBody = Type.Union([
  Type.Object({
    purpose: Type.Optional(Type.Literal('signin', { description: 'Default' })),
    rememberToken: Type.Optional(RememberToken),
    context: Type.Optional(SigninContextBody),
  }, { additionalProperties: false, title: 'sign-in' }),
  Type.Object({
    purpose: Type.Literal('step-up'),
    action: Action,
    rememberToken: Type.Optional(RememberToken),
    context: Type.Optional(SigninContextBody),
  }, { additionalProperties: false, title: 'step-up' }),
], {
  description: 'An empty body is a plain sign-in. `purpose: "step-up"` needs `action`, always asks for a factor (a remembered device never satisfies it, and its token is not spent); `action` is refused without it',
  examples: [{}, { rememberToken: EXAMPLE_RD, context: { ip: '203.0.113.7', userAgent: 'Firefox on Linux' } }, { purpose: 'step-up', action: 'change-bank-details' }],
})
export type SigninBody = Type.Static<typeof SigninBody>

/** The steps of `enrollment_required`: the methods the user can enroll now, in the order to offer them. */
export const EnrollmentStep = FactorName

const EnrollmentToken = MfaJwt('Enrollment token (`token_use: enrollment`, acr aal1, ≤10 min): send it as X-MFA-Token on the /v1/me enrollment routes (the routes that add a factor) to add factors; it is neither an MFA token nor a primary token')

export const SigninStart = Type.Union([
  Type.Object({
    status: Type.Literal('challenge'),
    transactionId: FlowId,
    expiresAt: Timestamp,
    methods: Type.Array(MethodView, { description: 'Every method of the user, in preference order; a factor that did not answer is `available: false`' }),
    defaultMethod: Type.Optional(FactorName),
  }, { additionalProperties: false, description: 'Ask for a second factor. `defaultMethod` is absent only when every candidate is locked (show the list)' }),
  Type.Object({
    status: Type.Literal('skipped'),
    token: MfaJwt('MFA token with acr aal1, amr [] and `remembered: true`: 2FA skipped for a remembered device; never a step-up proof'),
    rememberToken: RememberToken,
  }, { additionalProperties: false, description: 'Remembered device: the presented token is spent; keep the new `rememberToken`' }),
  Type.Object({
    status: Type.Literal('not_required'),
    token: MfaJwt('MFA token with acr aal1 and amr []: no second factor was asked'),
  }, { additionalProperties: false, description: 'The policy does not ask this user (who has no 2FA) for a factor' }),
  Type.Object({
    status: Type.Literal('enrollment_required'),
    steps: Type.Array(EnrollmentStep, { minItems: 1, description: 'Methods the user can enroll now (/v1/me), in the order to offer them; one is enough' }),
    enrollmentToken: EnrollmentToken,
  }, { additionalProperties: false, description: 'The policy requires 2FA (or this is a step-up) and the user has none: enroll, then sign in again' }),
], {
  examples: [
    { status: 'challenge', transactionId: EXAMPLE_TXN, expiresAt: EXAMPLE_TIME, ...startMethodsExample },
    { status: 'skipped', token: EXAMPLE_JWT, rememberToken: EXAMPLE_RD },
    { status: 'not_required', token: EXAMPLE_JWT },
    { status: 'enrollment_required', steps: enrollmentStepsExample, enrollmentToken: EXAMPLE_JWT },
  ],
})
export type SigninStart = Type.Static<typeof SigninStart>

export const TransactionParams = Type.Object({ transactionId: FlowId }, { additionalProperties: false })

const TxnState = Type.Union([Type.Literal('challenge'), Type.Literal('verified'), Type.Literal('reset')])

export const SigninView = Type.Object({
  transactionId: FlowId,
  status: TxnState,
  purpose: Type.Union([Type.Literal('signin'), Type.Literal('step-up')]),
  action: Type.Optional(Type.String()),
  expiresAt: Timestamp,
  methods: Type.Array(MethodView, { description: 'Every method the user has, asked afresh (locks change), in preference order; empty once the transaction is completed ("Try another way")' }),
  defaultMethod: Type.Optional(FactorName),
  activeChallenge: Type.Optional(Type.Object({
    method: FactorName,
    challengeId: Type.Optional(OpaqueId),
    expiresAt: Type.Optional(Timestamp),
  }, { additionalProperties: false, description: 'The method started last' })),
}, {
  additionalProperties: false,
  examples: [{ transactionId: EXAMPLE_TXN, status: 'challenge', purpose: 'signin', expiresAt: EXAMPLE_TIME, ...viewMethodsExample(EXAMPLE_TIME) }],
})
export type SigninView = Type.Static<typeof SigninView>

/** What the challenge route passes on: one method's body, as its strategy declares it. */
export type ChallengeInput = { [N in keyof typeof STRATEGIES]: ChallengeInputOf<(typeof STRATEGIES)[N]> }[keyof typeof STRATEGIES]

/** What the verify route passes on; a method without a verify body (push) is not one of them. */
export type VerifyInput = { [N in keyof typeof STRATEGIES]: VerifyInputOf<(typeof STRATEGIES)[N]> }[keyof typeof STRATEGIES]

const examplesOf = (schemas: readonly Type.TSchema[]): unknown[] => schemas.flatMap((s) => (s as { examples?: unknown[] }).examples ?? [])

const challengeBodies = STRATEGY_LIST.map((s) => s.challenge.body)
export const ChallengeBody = Type.Unsafe<ChallengeInput>(Type.Union(challengeBodies, { examples: examplesOf(challengeBodies) }))
export type ChallengeBody = ChallengeInput

// Methods with nothing to send share one answer schema.
const challengeAnswers = [...new Set(STRATEGY_LIST.map((s) => s.challenge.answer))]
export const ChallengeAnswer = Type.Unsafe<Readonly<Record<string, unknown>>>(Type.Union(challengeAnswers, { examples: [...examplesOf(challengeAnswers), {}] }))

// One payload schema per method. Push is verified by its long-poll, not here.
const verifyBodies = STRATEGY_LIST.flatMap((s) => s.verify === undefined ? [] : [s.verify.body])
export const VerifyBody = Type.Unsafe<VerifyInput>(Type.Union(verifyBodies, { examples: examplesOf(verifyBodies) }))
export type VerifyBody = VerifyInput

const Rejected = Type.Object({
  status: Type.Literal('rejected'),
  reason: Type.Union([
    Type.Literal('invalid_code'), Type.Literal('replayed'), Type.Literal('clock_skew'), Type.Literal('expired'),
    Type.Literal('no_challenge'), Type.Literal('invalid_assertion'), Type.Literal('unknown_credential'),
  ]),
  attemptsLeft: Type.Optional(Type.Integer({ minimum: 0, description: 'Failures left before the factor locks' })),
  offsetSec: Type.Optional(Type.Integer({ description: 'clock_skew: the approximate offset of the device clock in seconds (positive: ahead), so the UI can say "your device clock is about N s off"' })),
}, { additionalProperties: false })

export const VerifyAnswer = Type.Union([
  Type.Object({
    status: Type.Literal('verified'),
    token: MfaTokenAnswer,
    rememberToken: Type.Optional(RememberToken),
    newRecoveryCode: Type.Optional(Type.String({ maxLength: 40, description: 'Emergency code, temporary loss: the replacement, shown once' })),
  }, { additionalProperties: false }),
  Rejected,
  Type.Object({
    status: Type.Literal('reset'),
    enrollmentToken: EnrollmentToken,
  }, { additionalProperties: false, description: 'Emergency code, permanent loss: 2FA was reset; enroll again with the enrollment token' }),
], {
  description: 'A wrong code is an answer (200), not an error',
  examples: [
    { status: 'verified', token: EXAMPLE_JWT, rememberToken: EXAMPLE_RD },
    { status: 'rejected', reason: 'invalid_code', attemptsLeft: 9 },
    { status: 'rejected', reason: 'clock_skew', offsetSec: -95, attemptsLeft: 8 },
    { status: 'reset', enrollmentToken: EXAMPLE_JWT },
  ],
})
export type VerifyAnswer = Type.Static<typeof VerifyAnswer>

// ---- self-service ------------------------------------------------------------------------------

export const RememberedDeviceView = Type.Object({
  id: OpaqueId,
  label: Type.String({ maxLength: 200, description: 'The browser\'s user agent when it was remembered' }),
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  expiresAt: Timestamp,
}, { additionalProperties: false, description: 'A remembered device (never its token)' })

export const EmptyBody = Type.Object({}, { additionalProperties: false, description: 'No body, or {}', examples: [{}] })

export const RememberedDeviceParams = Type.Object({ id: OpaqueId }, { additionalProperties: false })

export const DisableAnswer = Type.Object({
  disabled: Type.Literal(true),
}, { additionalProperties: false, description: 'Every factor and remembered device is being removed (user.reset); sign-in no longer asks for 2FA unless the application requires it', examples: [{ disabled: true }] })

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
  rememberedDevices: Type.Array(RememberedDeviceView, { description: 'Unexpired remembered devices, oldest first; revoke with DELETE /v1/me/remembered-devices/{id}' }),
}, {
  additionalProperties: false,
  examples: [{
    twoFactor: 'enrolled',
    factors: factorListExample(),
    rememberedDevices: [{ id: 'rdv_AAAAAAAAAAAAAAAAAAAAAA', label: 'Firefox on Linux', createdAt: '2026-01-01T00:00:00.000Z', lastUsedAt: '2026-01-20T08:00:00.000Z', expiresAt: '2026-01-31T00:00:00.000Z' }],
  }],
})
export type FactorsView = Type.Static<typeof FactorsView>

// ---- keys --------------------------------------------------------------------------------------

export const JwksAnswer = Type.Object({
  keys: Type.Array(MfaPublicJwk, { description: 'The current key first, then previous keys still in their rotation window' }),
}, {
  additionalProperties: false,
  examples: [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', alg: 'ES256', use: 'sig' }] }],
})
