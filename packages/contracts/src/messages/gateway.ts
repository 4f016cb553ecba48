import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'

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
