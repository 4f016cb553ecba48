import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { Timestamp, UserId } from './common.js'

// The gateway is an HTTP service, but it also registers with NATS micro (so `$SRV.PING` lists
// all six services) and offers what services on the bus need from it: the MFA token keys, so a
// resource server inside the mesh can verify MFA tokens without an HTTP round trip to the edge.

const Base64UrlCoordinate = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'A P-256 coordinate, base64url (32 bytes)' })

/** One public ES256 key of the MFA signing ring, as in /.well-known/jwks.json. Never a private part. */
export const MfaPublicJwk = Type.Object({
  kty: Type.Literal('EC'),
  crv: Type.Literal('P-256'),
  x: Base64UrlCoordinate,
  y: Base64UrlCoordinate,
  kid: Type.String({ minLength: 1, maxLength: 100 }),
  alg: Type.Literal('ES256'),
  use: Type.Literal('sig'),
}, { additionalProperties: false })

export const GatewayJwksRequest = Type.Object({}, { additionalProperties: false })
export const GatewayJwksResponse = Type.Object({
  keys: Type.Array(MfaPublicJwk, { minItems: 1, maxItems: 10, description: 'The current signing key first, then the previous ones still accepted' }),
}, { additionalProperties: false })
export type GatewayJwksResponse = Type.Static<typeof GatewayJwksResponse>

export const gatewayJwks = defineEndpoint({
  subject: 'warden.gateway.v1.jwks',
  summary: 'Public keys that verify MFA tokens (the same set as /.well-known/jwks.json)',
  request: GatewayJwksRequest, response: GatewayJwksResponse,
  errors: ['BAD_REQUEST', 'INTERNAL'],
})

// ---- introspection ---------------------------------------------------------------------------

/** A compact JWS, as the gateway signs MFA tokens (three base64url parts). */
const CompactJwt = Type.String({ minLength: 5, maxLength: 8192, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' })

export const GatewayIntrospectRequest = Type.Object({
  token: CompactJwt,
}, { additionalProperties: false, description: 'An MFA token a resource server was given. It is a bearer credential: never logged on either side.' })
export type GatewayIntrospectRequest = Type.Static<typeof GatewayIntrospectRequest>

/**
 * RFC 7662 in spirit: `active: false` says only that the token must not be honoured (bad
 * signature, expired, another token type, or revoked: issued at or before the user's
 * `validAfter`), never why. An active token comes with its claims and the user's `validAfter`.
 */
export const GatewayIntrospectResponse = Type.Union([
  Type.Object({ active: Type.Literal(false) }, { additionalProperties: false }),
  Type.Object({
    active: Type.Literal(true),
    sub: UserId,
    aud: Type.String({ minLength: 1, maxLength: 200, description: 'The application (client id) the token is for' }),
    acr: Type.Union([Type.Literal('aal1'), Type.Literal('aal2')]),
    amr: Type.Array(Type.String({ minLength: 1, maxLength: 10 }), { maxItems: 10 }),
    authTime: Type.Integer({ minimum: 0, description: 'When the second factor was verified (seconds)' }),
    iat: Type.Integer({ minimum: 0 }),
    exp: Type.Integer({ minimum: 0 }),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Step-up tokens: what the step-up was for' })),
    remembered: Type.Optional(Type.Literal(true)),
    validAfter: Type.Optional(Timestamp),
  }, { additionalProperties: false }),
])
export type GatewayIntrospectResponse = Type.Static<typeof GatewayIntrospectResponse>

export const gatewayIntrospect = defineEndpoint({
  subject: 'warden.gateway.v1.introspect',
  summary: 'Whether an MFA token is still to be honoured (signature, expiry, type, and not revoked by a 2FA reset, disable or first factor), with its claims',
  request: GatewayIntrospectRequest, response: GatewayIntrospectResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})
