import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose'

export const DEVICE_JWT_TYPE = 'warden-push+jwt'

/** A new P-256 key for a device; the private half stays in the authenticator's home. */
export async function newDeviceKey (): Promise<{ privateJwk: JWK, publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateJwk: await exportJWK(privateKey), publicJwk: publicJwk(await exportJWK(publicKey)) }
}

export function publicJwk (jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } as JWK
}

/**
 * A device-signed request: an ES256 JWT with typ warden-push+jwt, `iat` now and a fresh `jti`,
 * plus the claims that say what is asked. For pairing, the public key rides in the `jwk` header.
 */
export async function signDeviceJwt (privateJwk: JWK, claims: Record<string, unknown>, opts: { now: Date, embedKey?: boolean }): Promise<string> {
  const key = await importJWK(privateJwk, 'ES256')
  return new SignJWT({ ...claims, iat: Math.floor(opts.now.getTime() / 1000), jti: randomBytes(16).toString('base64url') })
    .setProtectedHeader({ alg: 'ES256', typ: DEVICE_JWT_TYPE, ...(opts.embedKey === true ? { jwk: publicJwk(privateJwk) } : {}) })
    .sign(key)
}
