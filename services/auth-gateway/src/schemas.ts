import { DescribeResponse, FactorName, FlowId, MfaPublicJwk, OpaqueId, RecoveryCode, SixDigitCode, Timestamp } from '@warden/contracts'
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
  createdAt: Type.Optional(Timestamp),
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
}, { additionalProperties: false, examples: [{ username: 'alice', password: 'demo' }, { username: 'admin', password: 'demo', clientId: 'console' }] })

export const DemoLoginAnswer = Type.Object({ token: Jwt }, { additionalProperties: false, examples: [{ token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl' }] })

// ---- sign-in -----------------------------------------------------------------------------------

const EXAMPLE_TXN = 'txn_Q2hhbGxlbmdlSWRFeGFtcGxlVmFsdWVPZjQzQ2hhcnNBQQ'
const EXAMPLE_TIME = '2026-11-23T09:40:00.000Z'
const EXAMPLE_JWT = 'eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
const EXAMPLE_RD = 'rd_UmVtZW1iZXJUb2tlbkV4YW1wbGVWYWx1ZU9mNDNDaGFyc0FB'

/** What a step-up is for, e.g. `change-bank-details`: lower case, copied into the MFA token as `action`. */
export const Action = Type.String({ pattern: '^[a-z0-9][a-z0-9._:-]{0,63}$', description: 'What the step-up is for; copied into the MFA token as `action`', examples: ['change-bank-details'] })

/** An opaque remember-this-device token (256 bits); only its HMAC is stored. */
export const RememberToken = Type.String({ pattern: '^rd_[A-Za-z0-9_-]{43}$', description: 'Remember-this-device token: opaque, 256 bits, rotated on every use. Keep it like a password', examples: [EXAMPLE_RD] })

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

const MfaJwt = (description: string) => Type.String({ maxLength: 8192, description })

/** The steps of `enrollment_required`: the methods the user can enroll now, in the order to offer them. */
export const EnrollmentStep = Type.Union([Type.Literal('totp'), Type.Literal('push'), Type.Literal('webauthn'), Type.Literal('sms'), Type.Literal('recovery')])

const EnrollmentToken = MfaJwt('Enrollment token (`token_use: enrollment`, acr aal1, ≤10 min): send it as X-MFA-Token on the /v1/me enrollment routes (POST /v1/me/totp, /v1/me/totp/confirm) to add factors; it is neither an MFA token nor a primary token')

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
    {
      status: 'challenge', transactionId: EXAMPLE_TXN, expiresAt: EXAMPLE_TIME, defaultMethod: 'totp',
      methods: [
        { method: 'totp', available: true, items: [] },
        { method: 'sms', available: true, items: [{ id: 'phn_AAAAAAAAAAAAAAAAAAAAAA', label: '+46 •• ••• •• 12', verified: true }] },
        { method: 'recovery', available: false, items: [] },
      ],
    },
    { status: 'skipped', token: EXAMPLE_JWT, rememberToken: EXAMPLE_RD },
    { status: 'not_required', token: EXAMPLE_JWT },
    { status: 'enrollment_required', steps: ['totp'], enrollmentToken: EXAMPLE_JWT },
  ],
})
export type SigninStart = Type.Static<typeof SigninStart>

export const TransactionParams = Type.Object({ transactionId: FlowId }, { additionalProperties: false })

export const PushParams = Type.Object({ transactionId: FlowId, challengeId: OpaqueId }, { additionalProperties: false })

export const PushQuery = Type.Object({
  waitSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 25, default: 0, description: 'Long-poll: answer as soon as the state leaves pending, or after this many seconds' })),
}, { additionalProperties: false })

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
  examples: [{
    transactionId: EXAMPLE_TXN, status: 'challenge', purpose: 'signin', expiresAt: EXAMPLE_TIME, defaultMethod: 'push',
    methods: [
      { method: 'push', available: true, items: [{ id: 'dev_AAAAAAAAAAAAAAAAAAAAAA', label: 'Pixel 8' }] },
      { method: 'webauthn', available: true, items: [{ id: 'cred-1', label: 'YubiKey 5' }] },
      { method: 'totp', available: true, lockedUntil: EXAMPLE_TIME, items: [] },
      { method: 'sms', available: false, items: [] },
      { method: 'recovery', available: true, createdAt: '2026-01-01T00:00:00.000Z', items: [] },
    ],
    activeChallenge: { method: 'push', challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', expiresAt: EXAMPLE_TIME },
  }],
})
export type SigninView = Type.Static<typeof SigninView>

const RememberDeviceFlag = Type.Optional(Type.Boolean({ description: 'Remember this device: the answer carries a `rememberToken` (not for step-up, nor when the policy\'s rememberDays is 0)' }))

export const ChallengeBody = Type.Union([
  Type.Object({
    method: Type.Literal('push'),
    deviceId: Type.Optional(OpaqueId),
    rememberDevice: RememberDeviceFlag,
  }, { additionalProperties: false, title: 'push', description: 'Push to the paired app (all devices, or `deviceId`). `rememberDevice` is asked here: the approval carries the rememberToken' }),
  Type.Object({
    method: Type.Literal('sms'),
    phoneId: Type.Optional(OpaqueId),
  }, { additionalProperties: false, title: 'sms', description: 'Send a code to `phoneId` (default: the first phone listed)' }),
  Type.Object({ method: Type.Literal('webauthn') }, { additionalProperties: false, title: 'webauthn' }),
  Type.Object({ method: Type.Literal('totp') }, { additionalProperties: false, title: 'totp' }),
  Type.Object({ method: Type.Literal('recovery') }, { additionalProperties: false, title: 'recovery' }),
], { examples: [{ method: 'push', rememberDevice: true }, { method: 'sms', phoneId: 'phn_AAAAAAAAAAAAAAAAAAAAAA' }, { method: 'totp' }] })
export type ChallengeBody = Type.Static<typeof ChallengeBody>

export const ChallengeAnswer = Type.Union([
  Type.Object({
    challengeId: OpaqueId,
    expiresAt: Timestamp,
    numberToMatch: Type.Integer({ minimum: 10, maximum: 99, description: 'Show it: the user picks it in the app' }),
  }, { additionalProperties: false, title: 'push' }),
  Type.Object({
    reference: Type.String({ pattern: '^[0-9]{4}$', description: 'Also in the SMS: show it so the user can match the two' }),
    maskedPhone: Type.String({ maxLength: 40 }),
    expiresAt: Timestamp,
  }, { additionalProperties: false, title: 'sms' }),
  Type.Object({
    options: Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get()' }),
  }, { additionalProperties: false, title: 'webauthn' }),
  Type.Object({}, { additionalProperties: false, title: 'totp, recovery', description: 'Nothing to send: ask for the code' }),
], {
  examples: [
    { challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', expiresAt: EXAMPLE_TIME, numberToMatch: 42 },
    { reference: '4821', maskedPhone: '+46 •• ••• •• 12', expiresAt: EXAMPLE_TIME },
    {},
  ],
})

const WebauthnResponse = Type.Object({}, { additionalProperties: true, maxProperties: 20, description: 'AuthenticationResponseJSON from navigator.credentials.get()' })

// One payload schema per method. Push is verified by its long-poll, not here.
export const VerifyBody = Type.Union([
  Type.Object({ method: Type.Literal('totp'), code: SixDigitCode, rememberDevice: RememberDeviceFlag }, { additionalProperties: false, title: 'totp' }),
  Type.Object({ method: Type.Literal('sms'), code: SixDigitCode, rememberDevice: RememberDeviceFlag }, { additionalProperties: false, title: 'sms' }),
  Type.Object({ method: Type.Literal('webauthn'), response: WebauthnResponse, rememberDevice: RememberDeviceFlag }, { additionalProperties: false, title: 'webauthn' }),
  Type.Object({
    method: Type.Literal('recovery'),
    code: RecoveryCode,
    recoveryMode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent')], {
      description: 'temporary: sign in once and get a new emergency code. permanent: 2FA is reset (every factor and remembered device removed) and the answer is `reset` with an enrollment token',
    }),
    rememberDevice: RememberDeviceFlag,
  }, { additionalProperties: false, title: 'recovery' }),
], { examples: [{ method: 'totp', code: '123456', rememberDevice: true }, { method: 'recovery', code: 'ABCD-EFGH-IJKL-MNOP', recoveryMode: 'temporary' }] })
export type VerifyBody = Type.Static<typeof VerifyBody>

const MfaTokenAnswer = MfaJwt('MFA token: ES256, kid at /.well-known/jwks.json, aud = the application, amr per RFC 8176 (+ mfa), acr aal2, auth_time; `action` for a step-up')

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

// ---- self-service ------------------------------------------------------------------------------

export const MfaHeaders = Type.Object({
  'x-mfa-token': Type.Optional(Type.String({ maxLength: 8192, description: 'MFA token, needed once the user has 2FA (step-up, ≤10 min); on enrollment routes an enrollment token also does' })),
})

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
    factors: [
      { factor: 'push', available: true, enrolled: false, items: [] },
      { factor: 'webauthn', available: false },
      { factor: 'totp', available: true, enrolled: true, createdAt: '2026-01-01T00:00:00.000Z', items: [] },
      { factor: 'sms', available: true, enrolled: false, items: [] },
      { factor: 'recovery', available: true, enrolled: false, items: [] },
    ],
    rememberedDevices: [{ id: 'rdv_AAAAAAAAAAAAAAAAAAAAAA', label: 'Firefox on Linux', createdAt: '2026-01-01T00:00:00.000Z', lastUsedAt: '2026-01-20T08:00:00.000Z', expiresAt: '2026-01-31T00:00:00.000Z' }],
  }],
})
export type FactorsView = Type.Static<typeof FactorsView>

export const EnrollAnswer = Type.Object({
  enrollmentId: OpaqueId,
  secret: Type.String({ description: 'Base32 secret for manual entry' }),
  otpauthUri: Type.String(),
  qrSvg: Type.String({ description: 'SVG of the otpauth URI' }),
  expiresAt: Timestamp,
}, {
  additionalProperties: false,
  examples: [{
    enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA',
    secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    otpauthUri: 'otpauth://totp/Warden:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Warden',
    qrSvg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 33 33">…</svg>',
    expiresAt: '2026-11-23T09:40:00.000Z',
  }],
})
export type EnrollAnswer = Type.Static<typeof EnrollAnswer>

export const ConfirmBody = Type.Object({ enrollmentId: OpaqueId, code: SixDigitCode }, { additionalProperties: false, examples: [{ enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA', code: '123456' }] })

export const ConfirmAnswer = Type.Union([
  Type.Object({ status: Type.Literal('confirmed'), confirmedAt: Timestamp }, { additionalProperties: false }),
  Type.Object({
    status: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('invalid_code'), Type.Literal('clock_skew')]),
    offsetSec: Type.Optional(Type.Integer({ description: 'Approximate clock offset of the device, for clock_skew' })),
  }, { additionalProperties: false }),
], {
  description: 'A wrong code is an answer (200 with status rejected), as at sign-in',
  examples: [{ status: 'confirmed', confirmedAt: '2026-11-23T09:31:00.000Z' }, { status: 'rejected', reason: 'clock_skew', offsetSec: 95 }],
})
export type ConfirmAnswer = Type.Static<typeof ConfirmAnswer>

export const RemoveAnswer = Type.Object({ removed: Type.Boolean({ description: 'false when there was nothing to remove' }) }, { additionalProperties: false, examples: [{ removed: true }] })

// ---- keys --------------------------------------------------------------------------------------

export const JwksAnswer = Type.Object({
  keys: Type.Array(MfaPublicJwk, { description: 'The current key first, then previous keys still in their rotation window' }),
}, {
  additionalProperties: false,
  examples: [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', alg: 'ES256', use: 'sig' }] }],
})
