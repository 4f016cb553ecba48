import { Type } from 'typebox'
import { defineEndpoint, type Endpoint } from '../endpoint.js'
import { FactorItem, Timestamp, UserRequest } from '../messages/common.js'
import { push } from './push.js'
import { recovery } from './recovery.js'
import { sms } from './sms.js'
import { totp } from './totp.js'
import { webauthn } from './webauthn.js'

/**
 * Every factor, in the seeds' order of preference: push, security key, authenticator app, SMS,
 * emergency code. This is the one list of factors: the names, the services, the describe
 * endpoints, the gateway's method order and its strategies all derive from it. A new factor is a
 * file beside this one (defineFactor) and its place in this array.
 */
export const FACTORS = [push, webauthn, totp, sms, recovery] as const

type Factor = (typeof FACTORS)[number]

/** A factor's name, as a type and as a schema (an enum of the names, in preference order). */
export const FactorName = Type.Union(FACTORS.map((f) => Type.Literal(f.name))) as unknown as Type.TUnion<LiteralsOf<typeof FACTORS>>
type LiteralsOf<T extends readonly Factor[]> = { -readonly [K in keyof T]: Type.TLiteral<T[K]['name']> }
export type FactorName = Factor['name']

/** The factor of a name. */
export const FACTOR: { readonly [F in Factor as F['name']]: F } = Object.freeze(Object.fromEntries(FACTORS.map((f) => [f.name, f]))) as never

/** The NATS micro service names, one per deployable factor service. */
export const SERVICES: { readonly [F in Factor as F['name']]: F['service'] } = Object.freeze(Object.fromEntries(FACTORS.map((f) => [f.name, f.service]))) as never

/** What a factor service knows about one user: the basis of the methods list. */
export const DescribeResponse = Type.Object({
  factor: FactorName,
  enrolled: Type.Boolean(),
  createdAt: Type.Optional(Timestamp),
  lockedUntil: Type.Optional(Timestamp),
  lockReason: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$', description: 'Why the method is locked, when the factor says (push: paused_after_denials, too_many_wrong_numbers)' })),
  items: Type.Array(FactorItem, { maxItems: 50 }),
}, { additionalProperties: false })
export type DescribeResponse = Type.Static<typeof DescribeResponse>

export type DescribeEndpoint = Endpoint<typeof UserRequest, typeof DescribeResponse>

/** The `describe` endpoint of each factor service (every one has it), keyed in the order methods are preferred. */
export const DESCRIBE_ENDPOINTS: { readonly [N in FactorName]: DescribeEndpoint } = Object.freeze(Object.fromEntries(FACTORS.map((f) => [f.name, defineEndpoint({
  subject: `warden.${f.name}.v1.describe`,
  summary: f.describe,
  request: UserRequest,
  response: DescribeResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})]))) as never

/**
 * The scatter describe: one request that every factor service answers with its own describe, each
 * service in a queue group of its own (one replica per service answers), so the gateway learns
 * about all factors of a user from one publish instead of one request per factor (bench/FIXES.md,
 * 10). A reply is exactly that factor's DescribeResponse; the caller collects them on one inbox
 * until every factor it asked about answered or its deadline passed, and a factor that did not
 * answer is unavailable. The per-factor subjects above stay served.
 */
export const describeFactors: DescribeEndpoint = defineEndpoint({
  subject: 'warden.factors.v1.describe',
  summary: 'Describe one user across every factor: each factor service answers once (its own queue group) with its describe answer',
  request: UserRequest,
  response: DescribeResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

// The names these endpoints have always had.
export const { push: describePush, webauthn: describeWebauthn, totp: describeTotp, sms: describeSms, recovery: describeRecovery } = DESCRIBE_ENDPOINTS

export { push, recovery, sms, totp, webauthn }
