import { ErrorBody, Timestamp } from '@warden/contracts'
import { Type } from 'typebox'
import { factorListExample } from './factors/examples.js'
import { FactorsView } from './schemas.js'

/**
 * REST schemas of /v1/admin (ARCHITECTURE §3, Admin). Like schemas.ts: bodies refuse unknown
 * properties and nothing is coerced. Every schema carries `examples`, which @fastify/swagger turns
 * into OpenAPI examples (one → `example`, several → `examples`).
 */

// ---- examples ----------------------------------------------------------------------------------

const EXAMPLE_SUB = 'alice'
const EXAMPLE_CLIENT = 'demo-app'
const EXAMPLE_TIME = '2026-11-23T09:30:00.000Z'

// ---- errors ------------------------------------------------------------------------------------

/** The error answers of admin routes, with examples of what each status looks like. */
export const adminErrorResponses = {
  '4xx': Type.Object({ error: ErrorBody }, {
    additionalProperties: false,
    description: '400 BAD_REQUEST (malformed input; nothing changed), 401 UNAUTHENTICATED (no or bad token), 403 FORBIDDEN (no warden:admin role), 429 RATE_LIMITED',
    examples: [
      { error: { code: 'BAD_REQUEST', message: 'body/mode must be equal to one of the allowed values' } },
      { error: { code: 'UNAUTHENTICATED', message: 'a valid primary token is required (Authorization: Bearer)' } },
      { error: { code: 'FORBIDDEN', message: 'this route needs the warden:admin role' } },
      { error: { code: 'RATE_LIMITED', message: 'too many requests: try again in 42 s', retryAfterSec: 42 } },
    ],
  }),
  '5xx': Type.Object({ error: ErrorBody }, {
    additionalProperties: false,
    description: '503 UNAVAILABLE (with Retry-After) when a store the answer depends on cannot be reached',
    examples: [{ error: { code: 'UNAVAILABLE', message: 'a service is not available: try again shortly', retryAfterSec: 5 } }],
  }),
} as const

// ---- policies ----------------------------------------------------------------------------------

/**
 * Any `azp` a primary token can carry (the token plugin accepts printable ASCII, 1-200
 * characters; `default` names tokens without one), so every application can get a policy.
 */
export const ClientIdParams = Type.Object({
  clientId: Type.String({
    pattern: '^[\\x21-\\x7E]{1,200}$',
    description: 'The application: `azp` (else `client_id`) of its primary tokens; `default` for tokens naming none. Percent-encode reserved characters',
    examples: [EXAMPLE_CLIENT],
  }),
}, { additionalProperties: false })

const PolicyMode = Type.Enum(['required', 'adaptive', 'off'], {
  description: 'required: 2FA always (users without it must enroll). adaptive: 2FA unless the device is remembered, the network known and no recent failures. off: users without 2FA are not asked to enroll (a user\'s own 2FA still applies)',
})
const RememberDays = Type.Integer({ minimum: 0, maximum: 30, description: 'How long a remembered device may skip 2FA for this application; 0 = never' })
const StepUpMaxAgeSec = Type.Integer({ minimum: 60, maximum: 3600, description: 'How recent a second factor must be for step-up' })

export const PolicyBody = Type.Object({
  mode: PolicyMode,
  rememberDays: Type.Optional(RememberDays),
  stepUpMaxAgeSec: Type.Optional(StepUpMaxAgeSec),
}, {
  additionalProperties: false,
  description: 'Replaces the policy. An absent field takes the configured default (DEFAULT_REMEMBER_DAYS, STEP_UP_MAX_AGE_SEC) at the time of the PUT',
  examples: [
    { mode: 'required', rememberDays: 7, stepUpMaxAgeSec: 300 },
    { mode: 'adaptive' },
  ],
})
export type PolicyBody = Type.Static<typeof PolicyBody>

export const PolicyView = Type.Object({
  clientId: Type.String(),
  mode: PolicyMode,
  rememberDays: RememberDays,
  stepUpMaxAgeSec: StepUpMaxAgeSec,
  isDefault: Type.Boolean({ description: 'true: no policy is stored for this application; these are the configured defaults' }),
}, {
  additionalProperties: false,
  description: 'The effective policy of an application',
  examples: [
    { clientId: EXAMPLE_CLIENT, mode: 'required', rememberDays: 7, stepUpMaxAgeSec: 300, isDefault: false },
    { clientId: 'unknown-app', mode: 'adaptive', rememberDays: 30, stepUpMaxAgeSec: 600, isDefault: true },
  ],
})
export type PolicyView = Type.Static<typeof PolicyView>

// ---- users -------------------------------------------------------------------------------------

export const SubParams = Type.Object({
  sub: Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$', description: 'The user: `sub` of their primary tokens. Percent-encode reserved characters', examples: [EXAMPLE_SUB] }),
}, { additionalProperties: false })

export const RememberedDeviceView = Type.Object({
  id: Type.String(),
  label: Type.String({ maxLength: 200 }),
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  expiresAt: Timestamp,
}, { additionalProperties: false })
export type RememberedDeviceView = Type.Static<typeof RememberedDeviceView>

export const AdminUserFactors = Type.Object({
  sub: Type.String(),
  twoFactor: FactorsView.properties.twoFactor,
  factors: FactorsView.properties.factors,
  rememberedDevices: Type.Array(RememberedDeviceView, { description: 'Unexpired remember-this-device grants' }),
}, {
  additionalProperties: false,
  description: 'What every factor service says about the user (as GET /v1/me/factors; a service that did not answer in time is `available: false`), plus remembered devices',
  examples: [{
    sub: EXAMPLE_SUB,
    twoFactor: 'enrolled',
    factors: factorListExample(EXAMPLE_TIME),
    rememberedDevices: [
      { id: 'rdv_Q2hvb3NlIGEgZ29vZCBpZA', label: 'Firefox on Linux', createdAt: EXAMPLE_TIME, lastUsedAt: EXAMPLE_TIME, expiresAt: '2026-12-23T09:30:00.000Z' },
    ],
  }],
})
export type AdminUserFactors = Type.Static<typeof AdminUserFactors>

export const ResetBody = Type.Object({}, {
  additionalProperties: false,
  description: 'No body, or an empty object',
  examples: [{}],
})

export const ResetAnswer = Type.Object({
  reset: Type.Literal(true),
  eventId: Type.String({ description: 'Id of the user.reset event on WARDEN_EVENTS (also its Nats-Msg-Id)' }),
}, {
  additionalProperties: false,
  description: 'Accepted: remembered devices and risk signals are gone; every factor service deletes the user\'s data when it consumes the event',
  examples: [{ reset: true, eventId: 'evt_V2FyZGVuIGV4YW1wbGUgZXZlbnQ' }],
})
export type ResetAnswer = Type.Static<typeof ResetAnswer>
